# restauth_protect through nginx's request lifecycle: auth_request
# subrequests, internal redirects and named locations, limit_req before the
# access phase, satisfy, error_page and auth_delay.
use Test::Nginx::Socket 'no_plan';
use lib 't';
use RestauthTest;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: auth_request: no token is refused, JSON body and Bearer challenge
--- http_config
    server {
        listen 127.0.0.1:19085;
        location / { return 200 "upstream reached uid=$http_x_auth_user_id\n"; }
    }
--- config
    location /app/ {
        auth_request /_auth;
        proxy_pass http://127.0.0.1:19085;
    }
    location = /_auth {
        internal;
        restauth_protect on;
        return 204;
    }
--- request
GET /app/page
--- more_headers
X-Auth-User-Id: 1
X-Auth-Username: admin
--- error_code: 401
--- response_headers
Content-Type: application/json
WWW-Authenticate: Bearer realm="api"
--- response_body chomp
{"detail": "Authentication credentials were not provided."}
--- no_error_log
[error]



=== TEST 2: auth_request: a bad token is refused and the reason is logged
--- http_config
    server {
        listen 127.0.0.1:19085;
        location / { return 200 "upstream reached\n"; }
    }
--- config
    location /app/ {
        auth_request /_auth;
        proxy_pass http://127.0.0.1:19085;
    }
    location = /_auth {
        internal;
        restauth_protect on;
        return 204;
    }
--- request
GET /app/page
--- more_headers eval
"Authorization: Bearer $::T{ALICE_WRONG_KEY}"
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="api", error="invalid_token"
--- response_body_like: token_not_valid
--- error_log
restauth: rejected access token (invalid: bad_signature)
--- no_error_log
[error]



=== TEST 3: auth_request: a good token passes; the backend sees the verified identity, never the forged one
--- http_config
    server {
        listen 127.0.0.1:19085;
        location / { return 200 "uid=$http_x_auth_user_id name=$http_x_auth_username main=$http_x_main_uid\n"; }
    }
--- config
    location /app/ {
        auth_request /_auth;
        auth_request_set $uid $restauth_user_id;
        proxy_set_header X-Main-Uid $uid;
        proxy_pass http://127.0.0.1:19085;
    }
    location = /_auth {
        internal;
        restauth_protect on;
        return 204;
    }
--- request
GET /app/page
--- more_headers eval
"Authorization: Bearer $::T{ALICE_ACCESS}\nX-Auth-Username: admin\nX_Auth_User_Id: 99"
--- response_body
uid=1 name=alice main=1
--- no_error_log
[error]



=== TEST 4: auth_request with restauth_check_session: live session passes, revoked one is refused
--- http_config
    server {
        listen 127.0.0.1:19085;
        location / { return 200 "uid=$http_x_auth_user_id\n"; }
    }
--- config
    location /app/ {
        auth_request /_auth;
        proxy_pass http://127.0.0.1:19085;
    }
    location = /_auth {
        internal;
        restauth_protect on;
        restauth_check_session on;
        return 204;
    }
--- request eval
["GET /app/page", "GET /app/page"]
--- more_headers eval
["Authorization: Bearer $::T{JUDY_ACCESS}", "Authorization: Bearer $::T{ALICE_NO_SESSION}"]
--- error_code eval
[200, 401]
--- response_body_like eval
['^uid=10$', "token_not_valid"]
--- no_error_log
[error]



=== TEST 5: internal redirect to a named location applies that location's header list
--- http_config
    underscores_in_headers on;
    server {
        listen 127.0.0.1:19085;
        location / { return 200 "uid=$http_x_auth_user_id staff=$http_x_auth_staff\n"; }
    }
--- config
    location /app/ {
        restauth_protect optional;
        try_files /nonexistent @app;
    }
    location @app {
        restauth_protect on;
        restauth_claim_header X-Auth-Staff is_staff;
        proxy_pass http://127.0.0.1:19085;
    }
--- request eval
["GET /app/page", "GET /app/page"]
--- more_headers eval
["Authorization: Bearer $::T{ALICE_ACCESS}\nX-Auth-Staff: true", "X_Auth_Staff: true"]
--- error_code eval
[200, 401]
--- response_body_like eval
['^uid=1 staff=$', "not provided"]
--- no_error_log
[error]



=== TEST 6: limit_req keyed on $restauth_user_id limits per verified user
--- http_config
    limit_req_zone $restauth_user_id zone=peruser:1m rate=1r/m;
    server {
        listen 127.0.0.1:19085;
        location / { return 200 "uid=$http_x_auth_user_id\n"; }
    }
--- config
    location /app/ {
        restauth_protect optional;
        limit_req zone=peruser;
        limit_req_status 429;
        limit_req_log_level info;
        proxy_pass http://127.0.0.1:19085;
    }
--- request eval
["GET /app/a", "GET /app/b", "GET /app/c", "GET /app/d"]
--- more_headers eval
["Authorization: Bearer $::T{ALICE_ACCESS}", "Authorization: Bearer $::T{ALICE_ACCESS}", "", ""]
--- error_code eval
[200, 429, 200, 200]



=== TEST 7: satisfy any: an allow-listed address passes without a token, forged headers still stripped
--- http_config
    server {
        listen 127.0.0.1:19085;
        location / { return 200 "uid=$http_x_auth_user_id\n"; }
    }
--- config
    location /app/ {
        satisfy any;
        allow 127.0.0.1;
        deny all;
        restauth_protect on;
        proxy_pass http://127.0.0.1:19085;
    }
    location /strict/ {
        satisfy all;
        allow 127.0.0.1;
        deny all;
        restauth_protect on;
        proxy_pass http://127.0.0.1:19085;
    }
--- request eval
["GET /app/page", "GET /strict/page"]
--- more_headers
X-Auth-User-Id: 1
--- error_code eval
[200, 401]
--- response_body_like eval
['^uid=$', "not provided"]
--- no_error_log
[error]



=== TEST 8: error_page 401 and 403 go to the operator's pages; without one the body is the JSON
--- http_config
    server {
        listen 127.0.0.1:19085;
        location / { return 200 "upstream reached\n"; }
    }
--- config
    location /app/ {
        restauth_protect on;
        restauth_require username bob;
        error_page 401 @login;
        error_page 403 /forbidden.html;
        proxy_pass http://127.0.0.1:19085;
    }
    location @login {
        return 401 "custom login page\n";
    }
    location = /forbidden.html {
        return 403 "custom forbidden page\n";
    }
    location /plain/ {
        restauth_protect on;
        restauth_require username bob;
        proxy_pass http://127.0.0.1:19085;
    }
--- request eval
["GET /app/page", "GET /app/page", "GET /plain/page"]
--- more_headers eval
["", "Authorization: Bearer $::T{ALICE_ACCESS}", "Authorization: Bearer $::T{ALICE_ACCESS}"]
--- error_code eval
[401, 403, 403]
--- response_body eval
["custom login page\n", "custom forbidden page\n", qq({"detail": "You do not have permission to perform this action."})]
--- no_error_log
[error]



=== TEST 9: auth_delay applies to restauth_protect's 401
--- config
    location /api/ {
        restauth_protect on;
        auth_delay 1s;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ok;
    }
    location = /ok { return 200 "ok\n"; }
--- request
GET /api/page
--- error_code: 401
--- error_log
delaying unauthorized request
--- log_level: debug



=== TEST 10: $restauth_token_status names every outcome, CSRF failure included
--- http_config
    restauth_cookie_access access_token;
    server {
        listen 127.0.0.1:19085;
        location / { return 200 "upstream reached\n"; }
    }
--- config
    location /app/ {
        restauth_protect optional;
        add_header X-Token-Status $restauth_token_status always;
        proxy_pass http://127.0.0.1:19085;
    }
--- request eval
["GET /app/a", "GET /app/b", "POST /app/c", "GET /app/d", "GET /app/e"]
--- more_headers eval
["", "Authorization: Bearer $::T{ALICE_ACCESS}", "Cookie: csrftoken=abc; access_token=$::T{ALICE_ACCESS}", "Authorization: Bearer $::T{ALICE_WRONG_KEY}", "Authorization: Bearer"]
--- error_code eval
[200, 200, 403, 401, 401]
--- response_headers eval
["X-Token-Status: missing", "X-Token-Status: valid", "X-Token-Status: csrf_failed", "X-Token-Status: invalid", "X-Token-Status: bad_header"]



=== TEST 11: auth_request refusal: the main request's error_page 401 (named location, text body) wins over the JSON body
--- config
    location /app/ {
        auth_request /_auth;
        error_page 401 @login;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ok;
    }
    location = /_auth {
        internal;
        restauth_protect on;
        return 204;
    }
    location /bare/ {
        auth_request /_auth;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/ok;
    }
    location = /ok { return 200 "ok\n"; }
    location @login {
        default_type text/plain;
        return 401 "custom login page\n";
    }
--- request eval
["GET /app/page", "GET /bare/page"]
--- error_code eval
[401, 401]
--- response_body eval
["custom login page\n", qq({"detail": "Authentication credentials were not provided."})]
--- no_error_log
[error]



=== TEST 12: where nothing verifies (protect off), every identity header declared anywhere is still stripped, whatever list the location inherits or clears
--- http_config
    underscores_in_headers on;
    server {
        listen 127.0.0.1:19085;
        location / { return 200 "uid=$http_x_auth_user_id user=$http_x_auth_username staff=$http_x_auth_staff roles=$http_x_auth_roles\n"; }
    }
--- config
    restauth_claim_header X-Auth-Staff is_staff;
    location /app/ {
        proxy_pass http://127.0.0.1:19085;
    }
    location /own/ {
        restauth_claim_header X-Auth-Roles roles;
        proxy_pass http://127.0.0.1:19085;
    }
    location /cleared/ {
        restauth_claim_header off;
        proxy_pass http://127.0.0.1:19085;
    }
--- request eval
["GET /app/page", "GET /own/page", "GET /cleared/page"]
--- more_headers
X-Auth-User-Id: 1
X_Auth_Username: admin
X-Auth-Staff: true
X-Auth-Roles: admin
--- error_code eval
[200, 200, 200]
--- response_body eval
["uid= user= staff= roles=\n", "uid= user= staff= roles=\n", "uid= user= staff= roles=\n"]
--- no_error_log
[error]



=== TEST 13: locations sharing a backend: a header one location vouches for never arrives forged through another, protected or not; a verified identity survives try_files to an unprotected named location; restauth_strip_identity_headers off passes the client's headers
--- http_config
    underscores_in_headers on;
    server {
        listen 127.0.0.1:19085;
        location / { return 200 "uid=$http_x_auth_user_id staff=$http_x_auth_is_staff\n"; }
    }
--- config
    location /app/ {
        restauth_protect on;
        proxy_pass http://127.0.0.1:19085;
    }
    location /admin/ {
        restauth_protect on;
        restauth_claim_header X-Auth-Is-Staff is_staff;
        proxy_pass http://127.0.0.1:19085;
    }
    location /public/ {
        proxy_pass http://127.0.0.1:19085;
    }
    location /fallback/ {
        restauth_protect on;
        try_files /nonexistent @plain;
    }
    location @plain {
        proxy_pass http://127.0.0.1:19085;
    }
    location /trusted/ {
        restauth_strip_identity_headers off;
        proxy_pass http://127.0.0.1:19085;
    }
--- request eval
["GET /app/page", "GET /public/page", "GET /fallback/page", "GET /trusted/page"]
--- more_headers eval
["Authorization: Bearer $::T{ALICE_ACCESS}\nX-Auth-Is-Staff: true",
 "X-Auth-User-Id: 2\nX_Auth_Is_Staff: true",
 "Authorization: Bearer $::T{ALICE_ACCESS}\nX-Auth-Is-Staff: true",
 "X-Auth-User-Id: 2\nX-Auth-Is-Staff: true"]
--- error_code eval
[200, 200, 200, 200]
--- response_body eval
["uid=1 staff=\n", "uid= staff=\n", "uid=1 staff=\n", "uid=2 staff=true\n"]
--- no_error_log
[error]
