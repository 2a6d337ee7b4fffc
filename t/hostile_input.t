# Hostile input: each gets a clear 4xx JSON answer, never a crash, a hang or
# an echo into a header.  Bodies and tokens the module cannot parse are also
# logged (at info), which the blocks below check where they say so.
use Test::Nginx::Socket 'no_plan';
use lib 't';
use RestauthTest;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: JSON that does not parse (deep nesting, invalid UTF-8, a raw NUL byte): 400 and a log line each
--- request eval
[
"POST /auth/login/\n" . ("[" x 5000) . ("]" x 5000),
"POST /auth/login/\n{\"username\": \"al\xffice\", \"password\": \"x\"}",
"POST /auth/login/\n{\"username\": \"alice\x00admin\", \"password\": \"x\"}",
]
--- more_headers
Content-Type: application/json
--- error_code eval
[400, 400, 400]
--- response_body_like eval
[
qr/^\{"detail": "JSON parse error - [^"]+"\}$/,
qr/^\{"detail": "JSON parse error - [^"]+"\}$/,
qr/^\{"detail": "JSON parse error - [^"]+"\}$/,
]
--- error_log
restauth: rejected request body (400)
--- no_error_log
[alert]
[crit]



=== TEST 2: fields with a NUL (JSON-escaped, or %00 in a form) or of the wrong type: 400 field errors
--- request eval
[
"POST /auth/login/\n{\"username\": \"alice\\u0000admin\", \"password\": \"x\"}",
"POST /auth/login/\nusername=alice%00admin&password=x",
"POST /auth/login/\n{\"username\": {\"\$ne\": null}, \"password\": \"x\"}",
"POST /auth/login/\n{\"username\": \"alice\", \"password\": [\"a\"]}",
]
--- more_headers eval
[
"Content-Type: application/json",
"Content-Type: application/x-www-form-urlencoded",
"Content-Type: application/json",
"Content-Type: application/json",
]
--- error_code eval
[400, 400, 400, 400]
--- response_body_like eval
[
qr/^\{"username": \["Null characters are not allowed."\]\}$/,
qr/^\{"username": \["Null characters are not allowed."\]\}$/,
qr/^\{"username": \["Not a valid string."\]\}$/,
qr/^\{"password": \["Not a valid string."\]\}$/,
]
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: bad form encodings and multipart bodies: 400 and a log line each
--- request eval
[
"POST /auth/login/\nusername=%ff%fe&password=x",
"POST /auth/login/\n--nope\r\nbroken",
"POST /auth/login/\n--x\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\nalice",
]
--- more_headers eval
[
"Content-Type: application/x-www-form-urlencoded",
"Content-Type: multipart/form-data",
"Content-Type: multipart/form-data; boundary=x",
]
--- error_code eval
[400, 400, 400]
--- response_body_like eval
[
qr/^\{"detail": "Form parse error - [^"]+"\}$/,
qr/^\{"detail": "Multipart form parse error - [^"]+"\}$/,
qr/^\{"detail": "Multipart form parse error - [^"]+"\}$/,
]
--- error_log
restauth: rejected request body (400)



=== TEST 4: quotes in an unsupported content type are escaped in the JSON answer; logged
--- request
POST /auth/login/
x
--- more_headers
Content-Type: text/evil; a="b\"c"
--- error_code: 415
--- response_body_like eval
qr{^\{"detail": "Unsupported media type \\"text/evil; a=\\"b\\\\\\"c\\"\\" in request\."\}$}
--- error_log
restauth: rejected request body (415)



=== TEST 5: a username or an address with CR/LF is refused at registration
--- http_config
    restauth_password_iterations 1000;
--- request eval
[
"POST /auth/registration/\n{\"username\": \"eve\\r\\nX-Injected: 1\", \"email\": \"eve1\@example.com\", \"password1\": \"Quite-Long-Pass-7\", \"password2\": \"Quite-Long-Pass-7\"}",
"POST /auth/registration/\n{\"username\": \"eve\", \"email\": \"eve2\@example.com\\r\\nBcc: x\@example.com\", \"password1\": \"Quite-Long-Pass-7\", \"password2\": \"Quite-Long-Pass-7\"}",
]
--- more_headers
Content-Type: application/json
--- error_code eval
[400, 400]
--- response_body_like eval
[qr/"username": \["Enter a valid username/, qr/"email": \["Enter a valid email address."\]/]



=== TEST 6: oversized and malformed tokens and cookies: 401 and a log line each
--- http_config
    restauth_cookie_access access_token;
    large_client_header_buffers 4 16k;
--- request eval
["GET /auth/user/", "GET /auth/user/", "GET /auth/user/", "GET /auth/user/"]
--- more_headers eval
[
"Authorization: Bearer " . ("A" x 9000) . ".e30.sig",
"Authorization: Bearer ....",
"Cookie: access_token=\"; ; =; access_token",
"Cookie: access_token=" . ("x" x 3000),
]
--- error_code eval
[401, 401, 401, 401]
--- response_body_like eval
[qr/token_not_valid/, qr/token_not_valid/, qr/(token_not_valid|credentials were not provided)/, qr/token_not_valid/]
--- error_log eval
qr/restauth: token rejected: (too_large|malformed),/
--- no_error_log
[alert]
[crit]



=== TEST 7: a huge chunked body is refused with 413 JSON and logged
--- request eval
"POST /auth/login/\n" . sprintf("%x", 40000) . "\r\n" . ("x" x 40000) . "\r\n0\r\n\r\n"
--- more_headers
Content-Type: application/json
Transfer-Encoding: chunked
--- error_code: 413
--- response_body chomp
{"detail": "Request body is too large."}
--- error_log
restauth: request body exceeds restauth_max_body_size or client_body_buffer_size



=== TEST 8: too many fields: 413 and a log line
--- request eval
"POST /auth/login/\n" . CORE::join("&", map { "f$_=1" } 1..200)
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 413
--- response_body_like: ^\{"detail": "[^"]+"\}$
--- error_log
restauth: rejected request body (413)



=== TEST 9: a body whose Content-Length exceeds restauth_max_body_size is refused with 413, never spooled to disk
--- request eval
"POST /auth/login/\n" . ("x" x 40000)
--- more_headers
Content-Type: application/json
--- error_code: 413
--- response_body chomp
{"detail": "Request body is too large."}
--- no_error_log
[error]
buffered to a temporary file
[alert]
[crit]
