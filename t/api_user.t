# GET/HEAD/PUT/PATCH /auth/user/ and the authentication rules every
# authenticated endpoint shares (simplejwt's 401 bodies).
use Test::Nginx::Socket 'no_plan';
use lib 't';
use RestauthTest;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the user object for a valid access token
--- request
GET /auth/user/
--- more_headers eval
"Authorization: Bearer $::T{ALICE_ACCESS}"
--- response_headers
Content-Type: application/json
--- response_body chomp
{"pk": 1, "username": "alice", "email": "alice@example.com", "first_name": "", "last_name": ""}



=== TEST 2: HEAD and the URL without trailing slash
--- request eval
["HEAD /auth/user", "GET /auth/user"]
--- more_headers eval
"Authorization: Bearer $::T{ALICE_ACCESS}"
--- error_code eval
[200, 200]
--- response_body eval
["", qq({"pk": 1, "username": "alice", "email": "alice\@example.com", "first_name": "", "last_name": ""})]



=== TEST 3: no credentials
--- request
GET /auth/user/
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="api"
Content-Type: application/json
--- response_body chomp
{"detail": "Authentication credentials were not provided."}



=== TEST 4: a header of another scheme counts as no credentials
--- request
GET /auth/user/
--- more_headers
Authorization: Basic YWxpY2U6eA==
--- error_code: 401
--- response_body chomp
{"detail": "Authentication credentials were not provided."}



=== TEST 5: Bearer with no or several values
--- request eval
["GET /auth/user/", "GET /auth/user/"]
--- more_headers eval
["Authorization: Bearer", "Authorization: Bearer a b"]
--- error_code eval
[401, 401]
--- response_body eval
[
qq({"detail": "Authorization header must contain two space-delimited values", "code": "bad_authorization_header"}),
qq({"detail": "Authorization header must contain two space-delimited values", "code": "bad_authorization_header"}),
]



=== TEST 6: expired, wrong key, alg none, tampered and garbage tokens
--- log_level: info
--- request eval
["GET /auth/user/", "GET /auth/user/", "GET /auth/user/", "GET /auth/user/", "GET /auth/user/"]
--- more_headers eval
[
"Authorization: Bearer $::T{ALICE_EXPIRED}",
"Authorization: Bearer $::T{ALICE_WRONG_KEY}",
"Authorization: Bearer $::T{ALICE_ALG_NONE}",
"Authorization: Bearer $::T{ALICE_TAMPERED}",
"Authorization: Bearer not.a.token",
]
--- error_code eval
[401, 401, 401, 401, 401]
--- response_body eval
[
qq({"detail": "Given token not valid for any token type", "code": "token_not_valid", "messages": [{"token_class": "AccessToken", "token_type": "access", "message": "Token is invalid or expired"}]}),
qq({"detail": "Given token not valid for any token type", "code": "token_not_valid", "messages": [{"token_class": "AccessToken", "token_type": "access", "message": "Token is invalid or expired"}]}),
qq({"detail": "Given token not valid for any token type", "code": "token_not_valid", "messages": [{"token_class": "AccessToken", "token_type": "access", "message": "Token is invalid or expired"}]}),
qq({"detail": "Given token not valid for any token type", "code": "token_not_valid", "messages": [{"token_class": "AccessToken", "token_type": "access", "message": "Token is invalid or expired"}]}),
qq({"detail": "Given token not valid for any token type", "code": "token_not_valid", "messages": [{"token_class": "AccessToken", "token_type": "access", "message": "Token is invalid or expired"}]}),
]
--- error_log eval
[qr/token rejected: (expired|bad_signature|alg_none|bad_base64|malformed)/]
--- no_error_log eval
[qr/eyJ/]



=== TEST 7: a refresh token is the wrong type
--- request
GET /auth/user/
--- more_headers eval
"Authorization: Bearer $::T{ALICE_REFRESH}"
--- error_code: 401
--- response_body chomp
{"detail": "Given token not valid for any token type", "code": "token_not_valid", "messages": [{"token_class": "AccessToken", "token_type": "access", "message": "Token has wrong type"}]}



=== TEST 8: inactive and deleted users
--- request eval
["GET /auth/user/", "GET /auth/user/"]
--- more_headers eval
["Authorization: Bearer $::T{CAROL_ACCESS}", "Authorization: Bearer $::T{GHOST_ACCESS}"]
--- error_code eval
[401, 401]
--- response_body eval
[
qq({"detail": "User is inactive", "code": "user_inactive"}),
qq({"detail": "User not found", "code": "user_not_found"}),
]



=== TEST 9: wrong method: 401 first, then 405 with Allow
--- request eval
["DELETE /auth/user/", "DELETE /auth/user/"]
--- more_headers eval
["", "Authorization: Bearer $::T{ALICE_ACCESS}"]
--- error_code eval
[401, 405]
--- response_body eval
[
qq({"detail": "Authentication credentials were not provided."}),
qq({"detail": "Method \\"DELETE\\" not allowed."}),
]



=== TEST 10: PATCH names, PUT needs a username, own username accepted
--- request eval
[
"PATCH /auth/user/\n{\"first_name\": \"Bob\", \"last_name\": \"Builder\", \"pk\": 7, \"email\": \"evil\@example.com\"}",
"PUT /auth/user/\n{\"first_name\": \"Bob\"}",
"PUT /auth/user\n{\"username\": \"bob\", \"first_name\": \"Robert\"}",
"GET /auth/user/",
]
--- more_headers eval
"Authorization: Bearer $::T{BOB_ACCESS}
Content-Type: application/json"
--- error_code eval
[200, 400, 200, 200]
--- response_body eval
[
qq({"pk": 2, "username": "bob", "email": "bob\@example.com", "first_name": "Bob", "last_name": "Builder"}),
qq({"username": ["This field is required."]}),
qq({"pk": 2, "username": "bob", "email": "bob\@example.com", "first_name": "Robert", "last_name": "Builder"}),
qq({"pk": 2, "username": "bob", "email": "bob\@example.com", "first_name": "Robert", "last_name": "Builder"}),
]



=== TEST 11: username rules and uniqueness (any letter case)
--- request eval
[
"PATCH /auth/user/\n{\"username\": \"ALICE\"}",
"PATCH /auth/user/\n{\"username\": \"bad name!\"}",
"PATCH /auth/user/\n{\"username\": \"" . ("x" x 151) . "\"}",
"PATCH /auth/user/\n{\"username\": \"\"}",
]
--- more_headers eval
"Authorization: Bearer $::T{BOB_ACCESS}
Content-Type: application/json"
--- error_code eval
[400, 400, 400, 400]
--- response_body eval
[
qq({"username": ["A user with that username already exists."]}),
qq({"username": ["Enter a valid username. This value may contain only letters, numbers, and \@/./+/-/_ characters."]}),
qq({"username": ["Ensure this field has no more than 150 characters."]}),
qq({"username": ["This field may not be blank."]}),
]



=== TEST 12: the access cookie authenticates when configured; the header wins
--- http_config
    restauth_cookie_access access_token;
--- request eval
["GET /auth/user/", "GET /auth/user/"]
--- more_headers eval
[
"Cookie: theme=dark; access_token=$::T{ALICE_ACCESS}",
"Cookie: access_token=$::T{ALICE_ACCESS}\nAuthorization: Bearer $::T{BOB_ACCESS}",
]
--- response_body_like eval
[qr/"username": "alice"/, qr/"username": "bob"/]



=== TEST 13: cookie-authenticated unsafe requests need the CSRF token
--- http_config
    restauth_cookie_access access_token;
--- request eval
[
"PATCH /auth/user/\n{\"last_name\": \"Liddell\"}",
"PATCH /auth/user/\n{\"last_name\": \"Liddell\"}",
"PATCH /auth/user/\n{\"last_name\": \"Liddell\"}",
"PATCH /auth/user/\n{\"last_name\": \"Liddell\"}",
]
--- more_headers eval
[
"Content-Type: application/json\nCookie: access_token=$::T{JUDY_ACCESS}",
"Content-Type: application/json\nCookie: csrftoken=$::T{JUDY_CSRF}; access_token=$::T{JUDY_ACCESS}\nX-CSRFToken: wrong",
"Content-Type: application/json\nCookie: csrftoken=$::T{JUDY_CSRF}; access_token=$::T{JUDY_ACCESS}\nX-CSRFToken: $::T{JUDY_CSRF}",
"Content-Type: application/json\nAuthorization: Bearer $::T{JUDY_ACCESS}",
]
--- error_code eval
[403, 403, 200, 200]
--- response_body_like eval
[
qr/^\{"detail": "CSRF Failed: CSRF cookie not set."\}$/,
qr/^\{"detail": "CSRF Failed: CSRF token incorrect."\}$/,
qr/"last_name": "Liddell"/,
qr/"last_name": "Liddell"/,
]



=== TEST 14: restauth_csrf off disables the check
--- http_config
    restauth_cookie_access access_token;
    restauth_csrf off;
--- request
PATCH /auth/user/
{"last_name": "Smith"}
--- more_headers eval
"Content-Type: application/json
Cookie: access_token=$::T{JUDY_ACCESS}"
--- response_body_like: "last_name": "Smith"
