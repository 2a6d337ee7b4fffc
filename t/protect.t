# restauth_protect in front of an upstream that echoes the identity headers
# it received.  underscores_in_headers is on so look-alike names reach us.
use Test::Nginx::Socket 'no_plan';
use lib 't';
use RestauthTest;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a valid token reaches the upstream as headers
--- http_config
    underscores_in_headers on;
    server {
        listen 127.0.0.1:19085;
        location / { return 200 "uid=$http_x_auth_user_id name=$http_x_auth_username email=$http_x_auth_email\n"; }
    }
--- config
    location /app/ {
        restauth_protect on;
        proxy_pass http://127.0.0.1:19085;
    }
--- request
GET /app/page
--- more_headers eval
"Authorization: Bearer $::T{ALICE_ACCESS}"
--- response_body
uid=1 name=alice email=alice@example.com



=== TEST 2: no token is a 401 JSON with a Bearer challenge
--- http_config
    server {
        listen 127.0.0.1:19085;
        location / { return 200 "upstream reached\n"; }
    }
--- config
    location /app/ {
        restauth_protect on;
        proxy_pass http://127.0.0.1:19085;
    }
--- request
GET /app/page
--- error_code: 401
--- response_headers
Content-Type: application/json
WWW-Authenticate: Bearer realm="api"
--- response_body chomp
{"detail": "Authentication credentials were not provided."}



=== TEST 3: expired, tampered, wrong-key and alg-none tokens
--- http_config
    server {
        listen 127.0.0.1:19085;
        location / { return 200 "upstream reached\n"; }
    }
--- config
    location /app/ {
        restauth_protect on;
        proxy_pass http://127.0.0.1:19085;
    }
--- request eval
["GET /app/a", "GET /app/b", "GET /app/c", "GET /app/d"]
--- more_headers eval
[
"Authorization: Bearer $::T{ALICE_EXPIRED}",
"Authorization: Bearer $::T{ALICE_TAMPERED}",
"Authorization: Bearer $::T{ALICE_WRONG_KEY}",
"Authorization: Bearer $::T{ALICE_ALG_NONE}",
]
--- error_code eval
[401, 401, 401, 401]
--- response_headers eval
[
qq{WWW-Authenticate: Bearer realm="api", error="invalid_token"},
qq{WWW-Authenticate: Bearer realm="api", error="invalid_token"},
qq{WWW-Authenticate: Bearer realm="api", error="invalid_token"},
qq{WWW-Authenticate: Bearer realm="api", error="invalid_token"},
]
--- response_body eval
[
qq({"detail": "Given token not valid for any token type", "code": "token_not_valid", "messages": [{"token_class": "AccessToken", "token_type": "access", "message": "Token is invalid or expired"}]}),
qq({"detail": "Given token not valid for any token type", "code": "token_not_valid", "messages": [{"token_class": "AccessToken", "token_type": "access", "message": "Token is invalid or expired"}]}),
qq({"detail": "Given token not valid for any token type", "code": "token_not_valid", "messages": [{"token_class": "AccessToken", "token_type": "access", "message": "Token is invalid or expired"}]}),
qq({"detail": "Given token not valid for any token type", "code": "token_not_valid", "messages": [{"token_class": "AccessToken", "token_type": "access", "message": "Token is invalid or expired"}]}),
]



=== TEST 4: a refresh token is the wrong type
--- http_config
    server {
        listen 127.0.0.1:19085;
        location / { return 200 "upstream reached\n"; }
    }
--- config
    location /app/ {
        restauth_protect on;
        proxy_pass http://127.0.0.1:19085;
    }
--- request
GET /app/page
--- more_headers eval
"Authorization: Bearer $::T{ALICE_REFRESH}"
--- error_code: 401
--- response_body chomp
{"detail": "Given token not valid for any token type", "code": "token_not_valid", "messages": [{"token_class": "AccessToken", "token_type": "access", "message": "Token has wrong type"}]}



=== TEST 5: the access cookie is accepted; the header wins over it
--- http_config
    restauth_cookie_access access_token;
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
["GET /app/page", "GET /app/page"]
--- more_headers eval
[
"Cookie: a=b; access_token=$::T{ALICE_ACCESS}",
"Cookie: access_token=$::T{ALICE_ACCESS}\nAuthorization: Bearer $::T{BOB_ACCESS}",
]
--- response_body eval
["uid=1\n", "uid=2\n"]



=== TEST 6: optional mode lets anonymous requests through, still verifies tokens
--- http_config
    server {
        listen 127.0.0.1:19085;
        location / { return 200 "uid=$http_x_auth_user_id\n"; }
    }
--- config
    location /app/ {
        restauth_protect optional;
        proxy_pass http://127.0.0.1:19085;
    }
--- request eval
["GET /app/page", "GET /app/page", "GET /app/page"]
--- more_headers eval
["", "Authorization: Bearer $::T{ALICE_ACCESS}", "Authorization: Bearer $::T{ALICE_EXPIRED}"]
--- error_code eval
[200, 200, 401]
--- response_body_like eval
["^uid=\$", "^uid=1\$", "token_not_valid"]



=== TEST 7: spoofed identity headers never reach the upstream (anonymous)
--- http_config
    underscores_in_headers on;
    server {
        listen 127.0.0.1:19085;
        location / { return 200 "uid=$http_x_auth_user_id name=$http_x_auth_username email=$http_x_auth_email role=$http_x_role\n"; }
    }
--- config
    location /app/ {
        restauth_protect optional;
        restauth_claim_header X-Role roles;
        proxy_pass http://127.0.0.1:19085;
    }
--- request
GET /app/page
--- more_headers
X-Auth-User-Id: 666
x-auth-username: mallory
X_Auth_Email: mallory@example.com
X-AUTH-USER-ID: 667
x_role: admin
--- response_body
uid= name= email= role=
--- error_log
removed client header "X-Auth-User-Id"
removed client header "X_Auth_Email"



=== TEST 8: spoofed headers are replaced by the verified identity
--- http_config
    underscores_in_headers on;
    server {
        listen 127.0.0.1:19085;
        location / { return 200 "uid=$http_x_auth_user_id name=$http_x_auth_username ua=$http_user_agent\n"; }
    }
--- config
    location /app/ {
        restauth_protect on;
        proxy_pass http://127.0.0.1:19085;
    }
--- request
GET /app/page
--- more_headers eval
"X-Auth-User-Id: 666
X_Auth_Username: mallory
Authorization: Bearer $::T{ALICE_ACCESS}
User-Agent: test-agent"
--- response_body
uid=1 name=alice ua=test-agent



=== TEST 9: claim headers: nested claims, arrays, booleans; unsafe values dropped
--- http_config
    server {
        listen 127.0.0.1:19085;
        location / { return 200 "org=$http_x_org roles=$http_x_roles staff=$http_x_staff name=$http_x_auth_username injected=$http_x_injected\n"; }
    }
--- config
    location /app/ {
        restauth_protect on;
        restauth_claim_header X-Org org.name;
        restauth_claim_header X-Roles roles;
        restauth_claim_header X-Staff is_staff;
        proxy_pass http://127.0.0.1:19085;
    }
--- request eval
["GET /app/page", "GET /app/page"]
--- more_headers eval
["Authorization: Bearer $::T{ALICE_RICH}", "Authorization: Bearer $::T{EVIL_CRLF}"]
--- response_body eval
[
"org=acme roles=admin,dev staff=true name=alice injected=\n",
"org= roles= staff= name= injected=\n",
]



=== TEST 10: restauth_require: all must hold, values are alternatives
--- http_config
    server {
        listen 127.0.0.1:19085;
        location / { return 200 "ok\n"; }
    }
--- config
    location /admin/ {
        restauth_protect on;
        restauth_require roles admin superuser;
        restauth_require org.name acme;
        proxy_pass http://127.0.0.1:19085;
    }
--- request eval
["GET /admin/x", "GET /admin/x"]
--- more_headers eval
["Authorization: Bearer $::T{ALICE_RICH}", "Authorization: Bearer $::T{ALICE_ACCESS}"]
--- error_code eval
[200, 403]
--- response_body eval
["ok\n", qq({"detail": "You do not have permission to perform this action."})]



=== TEST 11: browsers are redirected to the login page with the original URI
--- http_config
    server {
        listen 127.0.0.1:19085;
        location / { return 200 "ok\n"; }
    }
--- config
    location /app/ {
        restauth_protect on;
        restauth_login_url /login.html;
        proxy_pass http://127.0.0.1:19085;
    }
--- request eval
["GET /app/page?x=1&y=2", "GET /app/page?x=1"]
--- more_headers eval
["Accept: text/html,application/xhtml+xml", "Accept: application/json"]
--- error_code eval
[302, 401]
--- response_headers eval
["Location: http://localhost:\$ServerPort/login.html?next=%2Fapp%2Fpage%3Fx%3D1%26y%3D2", "Location:"]



=== TEST 12: variables in proxy_set_header and log_format
--- http_config
    log_format restauth_fmt "restauth-access status=$restauth_token_status uid=$restauth_user_id name=$restauth_claim_username";
    server {
        listen 127.0.0.1:19085;
        location / { return 200 "user=$http_x_user name=$http_x_name\n"; }
    }
--- config
    location /app/ {
        restauth_protect optional;
        proxy_set_header X-User $restauth_user_id;
        proxy_set_header X-Name $restauth_claim_username;
        access_log logs/error.log restauth_fmt;
        proxy_pass http://127.0.0.1:19085;
    }
--- request
GET /app/page
--- more_headers eval
"Authorization: Bearer $::T{ALICE_ACCESS}"
--- response_body
user=1 name=alice
--- error_log
restauth-access status=valid uid=1 name=alice



=== TEST 13: the identity survives an internal redirect
--- http_config
    server {
        listen 127.0.0.1:19085;
        location / { return 200 "uid=$http_x_auth_user_id\n"; }
    }
--- config
    location /app/ {
        restauth_protect on;
        try_files /nonexistent @backend;
    }
    location @backend {
        restauth_protect on;
        proxy_pass http://127.0.0.1:19085;
    }
--- request
GET /app/page
--- more_headers eval
"Authorization: Bearer $::T{ALICE_ACCESS}"
--- response_body
uid=1



=== TEST 14: the API location is not affected by an inherited restauth_protect
--- http_config
    restauth_protect on;
--- request
GET /auth/health/
--- response_body chomp
{"redis": "ok"}



=== TEST 15: a claim header may not shadow a header nginx interprets
--- config
    location /app/ {
        restauth_protect on;
        restauth_claim_header Authorization sub;
    }
--- must_die
--- error_log
cannot set a header nginx itself interprets



=== TEST 16: unsafe requests authenticated by the cookie need the CSRF header
--- http_config
    restauth_cookie_access access_token;
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
["POST /app/x\nhello", "POST /app/x\nhello", "GET /app/x", "POST /app/x\nhello"]
--- more_headers eval
[
"Cookie: access_token=$::T{ALICE_ACCESS}",
"Cookie: csrftoken=$::T{ALICE_CSRF}; access_token=$::T{ALICE_ACCESS}\nX-CSRFToken: $::T{ALICE_CSRF}",
"Cookie: access_token=$::T{ALICE_ACCESS}",
"Authorization: Bearer $::T{ALICE_ACCESS}",
]
--- error_code eval
[403, 200, 200, 200]
--- response_body eval
[qq({"detail": "CSRF Failed: CSRF cookie not set."}), "uid=1\n", "uid=1\n", "uid=1\n"]



=== TEST 17: protected routes keep verifying stateless tokens while Redis is down
--- http_config
    restauth_redis 127.0.0.1:19098;
    server {
        listen 127.0.0.1:19085;
        location / { return 200 "uid=$http_x_auth_user_id\n"; }
    }
--- config
    location /auth/ { restauth_api; }
    location /app/ {
        restauth_protect on;
        proxy_pass http://127.0.0.1:19085;
    }
--- request eval
["GET /app/page", "GET /auth/user/"]
--- more_headers eval
"Authorization: Bearer $::T{ALICE_ACCESS}"
--- error_code eval
[200, 503]
--- response_body eval
["uid=1\n", qq({"detail": "Service temporarily unavailable, try again later."})]
--- error_log
restauth: redis connect failed



=== TEST 18: restauth_check_session: a session's access token stops at once when the session is revoked; a never-existing session is refused
Bob's session b2 exists (its access token passes), logout revokes it, and
the same access token is then refused; a token naming a session that never
existed is refused too.
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
--- request eval
[
"GET /app/page",
"POST /auth/logout/\n{\"refresh\": \"$::T{BOB_REFRESH_2}\"}",
"GET /app/page",
"GET /app/page",
"GET /app/page",
]
--- more_headers eval
[
"Authorization: Bearer $::T{BOB_ACCESS_2}",
"Content-Type: application/json",
"Authorization: Bearer $::T{BOB_ACCESS_2}",
"Authorization: Bearer $::T{ALICE_NO_SESSION}",
"Authorization: Bearer $::T{JUDY_ACCESS}",
]
--- error_code eval
[200, 200, 401, 401, 200]
--- response_body_like eval
["^uid=2\$", "Successfully logged out", "token_not_valid", "token_not_valid", "^uid=10\$"]
--- redis_after
EXISTS restauth:session:b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2 => 0



=== TEST 19: restauth_check_session fails closed when Redis is down
--- http_config
    restauth_redis 127.0.0.1:19098;
    server {
        listen 127.0.0.1:19085;
        location / { return 200 "uid=$http_x_auth_user_id\n"; }
    }
--- config
    location /app/ {
        restauth_protect on;
        restauth_check_session on;
        proxy_pass http://127.0.0.1:19085;
    }
--- request
GET /app/page
--- more_headers eval
"Authorization: Bearer $::T{JUDY_ACCESS}"
--- error_code: 503
--- response_body chomp
{"detail": "Service temporarily unavailable, try again later."}
--- error_log
cannot check the session, redis is unavailable



=== TEST 20: restauth_check_session: a Redis that never answers times out with 503
--- http_config
    restauth_redis 127.0.0.1:19097;
    restauth_redis_timeout 200ms;
    server {
        listen 127.0.0.1:19085;
        location / { return 200 "uid=$http_x_auth_user_id\n"; }
    }
--- config
    location /app/ {
        restauth_protect on;
        restauth_check_session on;
        proxy_pass http://127.0.0.1:19085;
    }
--- tcp_listen: 19097
--- tcp_no_close
--- tcp_reply_delay: 2s
--- tcp_reply: :1
--- request
GET /app/page
--- more_headers eval
"Authorization: Bearer $::T{JUDY_ACCESS}"
--- error_code: 503
--- error_log
did not answer within restauth_redis_timeout
