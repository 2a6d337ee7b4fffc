# restauth_token_mode opaque: DRF's TokenAuthentication ("Authorization:
# Token <key>"), login answering {"key": ...}, keys stored hashed.
use Test::Nginx::Socket 'no_plan';
use lib 't';
use RestauthTest;

# Every block runs in opaque mode, with Redis and without a JWT key.
$RestauthTest::HttpConfig = <<'_EOC_';
    restauth_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    restauth_token_mode opaque;
_EOC_

no_shuffle();
run_tests();

__DATA__

=== TEST 1: login answers a 40-hex key
--- http_config
    restauth_password_iterations 1000;
--- request
POST /auth/login/
{"username": "alice", "password": "Alice-Pass-2024"}
--- more_headers
Content-Type: application/json
--- response_body_like: ^\{"key": "[0-9a-f]{40}"\}$



=== TEST 2: authentication errors as DRF words them
--- request eval
["GET /auth/user/", "GET /auth/user/", "GET /auth/user/", "GET /auth/user/", "GET /auth/user/"]
--- more_headers eval
["", "Authorization: Token", "Authorization: Token a b", "Authorization: Token 0000000000000000000000000000000000000000", "Authorization: Bearer $::T{ALICE_ACCESS}"]
--- error_code eval
[401, 401, 401, 401, 401]
--- response_headers eval
["WWW-Authenticate: Token", "WWW-Authenticate: Token", "WWW-Authenticate: Token", "WWW-Authenticate: Token", "WWW-Authenticate: Token"]
--- response_body eval
[
qq({"detail": "Authentication credentials were not provided."}),
qq({"detail": "Invalid token header. No credentials provided."}),
qq({"detail": "Invalid token header. Token string should not contain spaces."}),
qq({"detail": "Invalid token."}),
qq({"detail": "Authentication credentials were not provided."}),
]



=== TEST 3: JWT endpoints do not exist in opaque mode
--- request eval
["POST /auth/token/refresh/\n{}", "POST /auth/token/verify/\n{}", "GET /auth/sessions/", "GET /auth/.well-known/jwks.json"]
--- more_headers
Content-Type: application/json
--- error_code eval
[404, 404, 404, 404]



=== TEST 4: restauth_protect needs JWTs
--- http_config
    restauth_jwt_key HS256 $TEST_NGINX_KEY_DIR/hs256.key;
--- config
    location /app/ { restauth_protect on; }
--- must_die
--- error_log
restauth_protect verifies JWTs and cannot be used with "restauth_token_mode opaque"



=== TEST 5: a stored key authenticates; an inactive user's key does not
--- request eval
["GET /auth/user/", "GET /auth/user/"]
--- more_headers eval
["Authorization: Token 0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a", "Authorization: token 0303030303030303030303030303030303030303"]
--- error_code eval
[200, 401]
--- response_body eval
[
qq({"pk": 1, "username": "alice", "email": "alice\@example.com", "first_name": "", "last_name": ""}),
qq({"detail": "User inactive or deleted."}),
]



=== TEST 6: logout deletes the presented key
--- request eval
["GET /auth/user/", "POST /auth/logout/", "GET /auth/user/", "POST /auth/logout/"]
--- more_headers
Authorization: Token 0707070707070707070707070707070707070707
--- error_code eval
[200, 200, 401, 200]
--- response_body eval
[
qq({"pk": 7, "username": "grace", "email": "grace\@example.com", "first_name": "", "last_name": ""}),
qq({"detail": "Successfully logged out."}),
qq({"detail": "Invalid token."}),
qq({"detail": "Successfully logged out."}),
]



=== TEST 7: a password reset revokes every key of the user, as a password change does
--- http_config
    restauth_password_iterations 1000;
--- redis_before
HSET restauth:user:130 id 130 username opal email opal@example.com password 'pbkdf2_sha256$1000$opalsalt$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=' first_name "" last_name "" is_active 1 is_staff 0 is_superuser 0 email_verified 1 date_joined 2024-01-01T00:00:00Z last_login ""
HSET restauth:token:fa48d053a4f4133046f14d039db9840148783cb0bcd7a49f57ed051a93302ff3 user_id 130 created 1700000000
HSET restauth:token:2bebe49d4f230aaf40fe457b81025fe4e4956824599968ba5953bc2de20fc7d5 user_id 130 created 1700000000
SADD restauth:user:130:tokens fa48d053a4f4133046f14d039db9840148783cb0bcd7a49f57ed051a93302ff3 2bebe49d4f230aaf40fe457b81025fe4e4956824599968ba5953bc2de20fc7d5
HSET restauth:reset:dd6228ce2bcf6438e4d54e7a2c3449143ead0c3f47b57b5945f518131df588d2 user_id 130 pwfp 4ecf3fee8366a57a0df3fcd02e3c1760a0ff80d888b0c2faafecf2e78e967c98
EXPIRE restauth:reset:dd6228ce2bcf6438e4d54e7a2c3449143ead0c3f47b57b5945f518131df588d2 86400
--- request eval
[
"GET /auth/user/",
"POST /auth/password/reset/confirm/\n{\"uid\": \"MTMw\", \"token\": \"opaque-reset-token\", \"new_password1\": \"Opal-New-Pass-2025\", \"new_password2\": \"Opal-New-Pass-2025\"}",
"GET /auth/user/",
"GET /auth/user/",
]
--- more_headers eval
[
"Authorization: Token 1313131313131313131313131313131313131313",
"Content-Type: application/json",
"Authorization: Token 1313131313131313131313131313131313131313",
"Authorization: Token 1414141414141414141414141414141414141414",
]
--- error_code eval
[200, 200, 401, 401]
--- response_body eval
[
qq({"pk": 130, "username": "opal", "email": "opal\@example.com", "first_name": "", "last_name": ""}),
qq({"detail": "Password has been reset with the new password."}),
qq({"detail": "Invalid token."}),
qq({"detail": "Invalid token."}),
]
--- redis_after
EXISTS restauth:token:fa48d053a4f4133046f14d039db9840148783cb0bcd7a49f57ed051a93302ff3 restauth:token:2bebe49d4f230aaf40fe457b81025fe4e4956824599968ba5953bc2de20fc7d5 restauth:user:130:tokens => 0
