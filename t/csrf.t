# CSRF for cookie-authenticated unsafe requests (issue #13 item 8): the
# csrftoken is bound to the session of the token that authenticates the
# request, so a cookie+header pair planted from a sibling domain (made for
# the attacker's own session) fails; Origin is checked against the request's
# host and restauth_csrf_trusted_origins, as Django's CsrfViewMiddleware
# does; requests authenticated by an Authorization header are not affected.
# The same holds in the API and at the edge (restauth_protect).  Tokens are
# computed here independently (RestauthTest::csrf_token), from the key file.
use Test::Nginx::Socket 'no_plan';
use lib 't';
use RestauthTest;

# A session of bob's that only this file uses, for the logout blocks (its
# record is written by TEST 4's redis_before).
our $Sid = 'c5' x 16;
our $Jti = 'c6' x 16;
$::T{BOB_OWN_REFRESH} = RestauthTest::refresh_token(2, $Sid, $Jti);
$::T{BOB_OWN_CSRF} = RestauthTest::csrf_token($Sid);
# A token of judy's session, but made under another secret.
$::T{JUDY_CSRF_OTHER_KEY} = RestauthTest::csrf_token('7' x 32, secret => 'x' x 40);
# judy's session under the secret of t/keys/csrf.secret.
$::T{JUDY_CSRF_OWN_SECRET} = RestauthTest::csrf_token('7' x 32,
    secret => RestauthTest::read_key("$RestauthTest::KeyDir/csrf.secret"));

no_shuffle();
run_tests();

__DATA__

=== TEST 1: API: a cookie+header pair made for another session is refused, the session's own passes
--- http_config
    restauth_cookie_access access_token;
--- request eval
[
"PATCH /auth/user/\n{\"last_name\": \"Liddell\"}",
"PATCH /auth/user/\n{\"last_name\": \"Liddell\"}",
"PATCH /auth/user/\n{\"last_name\": \"Liddell\"}",
"PATCH /auth/user/\n{\"last_name\": \"Liddell\"}",
"PATCH /auth/user/\n{\"last_name\": \"Liddell\"}",
]
--- more_headers eval
[
"Content-Type: application/json\nCookie: csrftoken=$::T{BOB_CSRF}; access_token=$::T{JUDY_ACCESS}\nX-CSRFToken: $::T{BOB_CSRF}",
"Content-Type: application/json\nCookie: csrftoken=0123456789abcdef; access_token=$::T{JUDY_ACCESS}\nX-CSRFToken: 0123456789abcdef",
"Content-Type: application/json\nCookie: csrftoken=$::T{JUDY_CSRF_OTHER_KEY}; access_token=$::T{JUDY_ACCESS}\nX-CSRFToken: $::T{JUDY_CSRF_OTHER_KEY}",
"Content-Type: application/json\nCookie: access_token=$::T{JUDY_ACCESS}\nX-CSRFToken: $::T{JUDY_CSRF}",
"Content-Type: application/json\nCookie: csrftoken=$::T{JUDY_CSRF}; access_token=$::T{JUDY_ACCESS}\nX-CSRFToken: $::T{JUDY_CSRF}",
]
--- error_code eval
[403, 403, 403, 403, 200]
--- response_body_like eval
[
qr/^\{"detail": "CSRF Failed: CSRF token incorrect."\}$/,
qr/^\{"detail": "CSRF Failed: CSRF token incorrect."\}$/,
qr/^\{"detail": "CSRF Failed: CSRF token incorrect."\}$/,
qr/^\{"detail": "CSRF Failed: CSRF cookie not set."\}$/,
qr/"last_name": "Liddell"/,
]



=== TEST 2: API: Origin must be the request's own or a trusted one
--- http_config
    restauth_cookie_access access_token;
    restauth_csrf_trusted_origins https://app.example.com https://*.example.org;
--- request eval
[
"PATCH /auth/user/\n{\"last_name\": \"Liddell\"}",
"PATCH /auth/user/\n{\"last_name\": \"Liddell\"}",
"PATCH /auth/user/\n{\"last_name\": \"Liddell\"}",
"PATCH /auth/user/\n{\"last_name\": \"Liddell\"}",
"PATCH /auth/user/\n{\"last_name\": \"Liddell\"}",
"PATCH /auth/user/\n{\"last_name\": \"Liddell\"}",
"PATCH /auth/user/\n{\"last_name\": \"Liddell\"}",
"PATCH /auth/user/\n{\"last_name\": \"Liddell\"}",
]
--- more_headers eval
[map { "Content-Type: application/json\nHost: api.example.com\n$_\nCookie: csrftoken=$::T{JUDY_CSRF}; access_token=$::T{JUDY_ACCESS}\nX-CSRFToken: $::T{JUDY_CSRF}" }
 "Origin: https://evil.example",
 "Origin: https://api.example.com",
 "Origin: null",
 "Origin: http://x.example.org",
 "Origin: http://api.example.com",
 "Origin: https://app.example.com",
 "Origin: https://x.example.org",
 "Origin: https://example.org"]
--- error_code eval
[403, 403, 403, 403, 200, 200, 200, 200]
--- response_body_like eval
[
qr/^\{"detail": "CSRF Failed: Origin checking failed - https:\/\/evil.example does not match any trusted origins."\}$/,
qr/^\{"detail": "CSRF Failed: Origin checking failed - https:\/\/api.example.com does not match any trusted origins."\}$/,
qr/^\{"detail": "CSRF Failed: Origin checking failed - null does not match any trusted origins."\}$/,
qr/^\{"detail": "CSRF Failed: Origin checking failed - http:\/\/x.example.org does not match any trusted origins."\}$/,
qr/"last_name": "Liddell"/,
qr/"last_name": "Liddell"/,
qr/"last_name": "Liddell"/,
qr/"last_name": "Liddell"/,
]



=== TEST 3: API: requests authenticated by an Authorization header are not affected
--- http_config
    restauth_cookie_access access_token;
--- request eval
[
"PATCH /auth/user/\n{\"last_name\": \"Liddell\"}",
"PATCH /auth/user/\n{\"last_name\": \"Liddell\"}",
]
--- more_headers eval
[
"Content-Type: application/json\nOrigin: https://evil.example\nAuthorization: Bearer $::T{JUDY_ACCESS}\nCookie: csrftoken=$::T{BOB_CSRF}",
"Content-Type: application/json\nOrigin: https://evil.example\nAuthorization: Bearer $::T{JUDY_ACCESS}",
]
--- error_code eval
[200, 200]
--- response_body_like eval
[qr/"last_name": "Liddell"/, qr/"last_name": "Liddell"/]



=== TEST 4: API: a refused cookie logout ends nothing and clears no cookie
--- http_config
    restauth_cookie_access access_token;
    restauth_cookie_refresh refresh_token;
--- redis_before
HSET restauth:session:c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5 user_id 2 jti c6c6c6c6c6c6c6c6c6c6c6c6c6c6c6c6 created 1700000000 last_used 1700000000 expires 4102444800
--- request
POST /auth/logout/
--- more_headers eval
"Cookie: csrftoken=$::T{BOB_CSRF}; refresh_token=$::T{BOB_OWN_REFRESH}
X-CSRFToken: $::T{BOB_CSRF}"
--- error_code: 403
--- response_body chomp
{"detail": "CSRF Failed: CSRF token incorrect."}
--- raw_response_headers_unlike: Set-Cookie
--- redis_after
EXISTS restauth:session:c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5 => 1



=== TEST 5: API: the session's own token logs out and clears the csrftoken cookie too
--- http_config
    restauth_cookie_access access_token;
    restauth_cookie_refresh refresh_token;
--- request
POST /auth/logout/
--- more_headers eval
"Cookie: csrftoken=$::T{BOB_OWN_CSRF}; refresh_token=$::T{BOB_OWN_REFRESH}
X-CSRFToken: $::T{BOB_OWN_CSRF}"
--- response_body chomp
{"detail": "Successfully logged out."}
--- raw_response_headers_like eval
qr{Set-Cookie: csrftoken=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Lax\r\n}
--- redis_after
EXISTS restauth:session:c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5 => 0



=== TEST 6: API: restauth_csrf_secret replaces the key derived from the signing key
--- http_config
    restauth_cookie_access access_token;
    restauth_csrf_secret $TEST_NGINX_KEY_DIR/csrf.secret;
--- request eval
[
"PATCH /auth/user/\n{\"last_name\": \"Liddell\"}",
"PATCH /auth/user/\n{\"last_name\": \"Liddell\"}",
]
--- more_headers eval
[
"Content-Type: application/json\nCookie: csrftoken=$::T{JUDY_CSRF}; access_token=$::T{JUDY_ACCESS}\nX-CSRFToken: $::T{JUDY_CSRF}",
"Content-Type: application/json\nCookie: csrftoken=$::T{JUDY_CSRF_OWN_SECRET}; access_token=$::T{JUDY_ACCESS}\nX-CSRFToken: $::T{JUDY_CSRF_OWN_SECRET}",
]
--- error_code eval
[403, 200]
--- response_body_like eval
[qr/^\{"detail": "CSRF Failed: CSRF token incorrect."\}$/, qr/"last_name": "Liddell"/]



=== TEST 7: a bad restauth_csrf_trusted_origins entry stops the configuration
--- http_config
    restauth_csrf_trusted_origins app.example.com;
--- config
    location /auth/ { restauth_api; }
--- must_die
--- error_log
restauth_csrf_trusted_origins: "app.example.com" is not an origin



=== TEST 8: edge: restauth_protect with cookie auth refuses a planted pair and a foreign origin, with Django's reasons
--- http_config
    restauth_cookie_access access_token;
    restauth_csrf_trusted_origins https://*.example.org;
    server {
        listen 127.0.0.1:19085;
        location / { return 200 "uid=$http_x_auth_user_id\n"; }
    }
--- config
    location /app/ {
        restauth_protect on;
        proxy_pass http://127.0.0.1:19085;
    }
--- request eval
["POST /app/x\nhello", "POST /app/x\nhello", "POST /app/x\nhello", "POST /app/x\nhello", "POST /app/x\nhello", "POST /app/x\nhello", "GET /app/x"]
--- more_headers eval
[
"Cookie: csrftoken=$::T{BOB_CSRF}; access_token=$::T{ALICE_ACCESS}\nX-CSRFToken: $::T{BOB_CSRF}",
"Origin: https://evil.example\nCookie: csrftoken=$::T{ALICE_CSRF}; access_token=$::T{ALICE_ACCESS}\nX-CSRFToken: $::T{ALICE_CSRF}",
"Origin: http://localhost\nCookie: csrftoken=$::T{ALICE_CSRF}; access_token=$::T{ALICE_ACCESS}\nX-CSRFToken: $::T{ALICE_CSRF}",
"Origin: https://a.example.org\nCookie: csrftoken=$::T{ALICE_CSRF}; access_token=$::T{ALICE_ACCESS}\nX-CSRFToken: $::T{ALICE_CSRF}",
"Cookie: csrftoken=$::T{ALICE_CSRF}; access_token=$::T{ALICE_ACCESS}\nX-CSRFToken: $::T{ALICE_CSRF}",
"Origin: https://evil.example\nAuthorization: Bearer $::T{ALICE_ACCESS}\nCookie: csrftoken=$::T{BOB_CSRF}",
"Origin: https://evil.example\nCookie: access_token=$::T{ALICE_ACCESS}",
]
--- error_code eval
[403, 403, 200, 200, 200, 200, 200]
--- response_body eval
[
qq({"detail": "CSRF Failed: CSRF token incorrect."}),
qq({"detail": "CSRF Failed: Origin checking failed - https://evil.example does not match any trusted origins."}),
"uid=1\n", "uid=1\n", "uid=1\n", "uid=1\n", "uid=1\n",
]



=== TEST 9: edge: an error_page still takes a CSRF refusal
--- http_config
    restauth_cookie_access access_token;
    server {
        listen 127.0.0.1:19085;
        location / { return 200 "uid=$http_x_auth_user_id\n"; }
    }
--- config
    location /app/ {
        restauth_protect on;
        error_page 403 = @denied;
        proxy_pass http://127.0.0.1:19085;
    }
    location @denied { return 403 "denied by the operator\n"; }
--- request
POST /app/x
hello
--- more_headers eval
"Cookie: csrftoken=$::T{BOB_CSRF}; access_token=$::T{ALICE_ACCESS}\nX-CSRFToken: $::T{BOB_CSRF}"
--- error_code: 403
--- response_body
denied by the operator
