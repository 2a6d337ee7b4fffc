# POST /auth/logout/: revokes the refresh token's session (body or cookie),
# "all": true revokes every session, cookies are cleared on every answer.
use Test::Nginx::Socket 'no_plan';
use lib 't';
use RestauthTest;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: logout revokes the session; the same token is then blacklisted
--- request eval
[
"POST /auth/logout/\n{\"refresh\": \"$::T{FRANK_REFRESH}\"}",
"POST /auth/logout\n{\"refresh\": \"$::T{FRANK_REFRESH}\"}",
]
--- more_headers
Content-Type: application/json
--- error_code eval
[200, 401]
--- response_body eval
[
qq({"detail": "Successfully logged out."}),
qq({"detail": "Token is blacklisted"}),
]



=== TEST 2: missing, invalid and wrong-type refresh tokens
--- request eval
[
"POST /auth/logout/\n{}",
"POST /auth/logout/\n{\"refresh\": \"garbage\"}",
"POST /auth/logout/\n{\"refresh\": \"$::T{ALICE_ACCESS}\"}",
"POST /auth/logout/\n{\"refresh\": \"$::T{REFRESH_EXPIRED}\"}",
]
--- more_headers
Content-Type: application/json
--- error_code eval
[401, 401, 401, 401]
--- response_body eval
[
qq({"detail": "Refresh token was not included in request data."}),
qq({"detail": "Token is invalid or expired"}),
qq({"detail": "Token is invalid or expired"}),
qq({"detail": "Token is invalid or expired"}),
]



=== TEST 3: "all": true revokes every session of the user: the other sessions' tokens stop working
Frank's session f3 is alive before (its refresh token verifies, its access
token passes restauth_check_session); after logout with "all" from session f2
neither works, nor does f2's own refresh token, and Redis holds no session of
user 6.
--- http_config
    server {
        listen 127.0.0.1:19085;
        location / { return 200 "uid=$http_x_auth_user_id\n"; }
    }
--- config
    location /auth/ { restauth_api; }
    location /app/ {
        restauth_protect on;
        restauth_check_session on;
        proxy_pass http://127.0.0.1:19085;
    }
--- log_level: info
--- request eval
[
"POST /auth/token/verify/\n{\"token\": \"$::T{FRANK_REFRESH_3}\"}",
"GET /app/page",
"POST /auth/logout/\n{\"refresh\": \"$::T{FRANK_REFRESH_ALL}\", \"all\": true}",
"POST /auth/token/refresh/\n{\"refresh\": \"$::T{FRANK_REFRESH_3}\"}",
"GET /app/page",
"POST /auth/token/refresh/\n{\"refresh\": \"$::T{FRANK_REFRESH_ALL}\"}",
]
--- more_headers eval
[
"Content-Type: application/json",
"Authorization: Bearer $::T{FRANK_ACCESS_3}",
"Content-Type: application/json",
"Content-Type: application/json",
"Authorization: Bearer $::T{FRANK_ACCESS_3}",
"Content-Type: application/json",
]
--- error_code eval
[200, 200, 200, 401, 401, 401]
--- response_body_like eval
[
qr/^\{\}$/,
qr/^uid=6$/,
qr/^\{"detail": "Successfully logged out."\}$/,
qr/^\{"detail": "Token is blacklisted", "code": "token_not_valid"\}$/,
qr/"code": "token_not_valid"/,
qr/^\{"detail": "Token is blacklisted", "code": "token_not_valid"\}$/,
]
--- redis_after
SCARD restauth:user:6:sessions => 0
EXISTS restauth:session:f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3f3 => 0
EXISTS restauth:session:f2f2f2f2f2f2f2f2f2f2f2f2f2f2f2f2 => 0



=== TEST 4: the refresh cookie is read and both cookies are cleared
--- http_config
    restauth_cookie_access access_token;
    restauth_cookie_refresh refresh_token;
    restauth_cookie_refresh_path /auth/;
--- request
POST /auth/logout/
--- more_headers eval
"X-CSRFToken: $::T{BOB_CSRF}
Cookie: csrftoken=$::T{BOB_CSRF}; refresh_token=$::T{BOB_REFRESH}"
--- response_body chomp
{"detail": "Successfully logged out."}
--- raw_response_headers_like eval
qr{Set-Cookie: access_token=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; HttpOnly; SameSite=Lax\r\nSet-Cookie: refresh_token=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/auth/; HttpOnly; SameSite=Lax\r\n}



=== TEST 5: cookies are cleared on errors too
--- http_config
    restauth_cookie_access access_token;
--- request
POST /auth/logout/
--- error_code: 401
--- raw_response_headers_like: Set-Cookie: access_token=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0
--- response_body chomp
{"detail": "Refresh token was not included in request data."}
