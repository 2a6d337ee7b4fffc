# restauth_jwt_key: algorithms, several keys with kid, rotation without
# logging anyone out; restauth_jwt_claims validation.
use Test::Nginx::Socket 'no_plan';
use lib 't';
use RestauthTest;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: rotation step 1: a new signing key first, the old one still verifies
--- http_config
    restauth_password_iterations 1000;
    restauth_jwt_key HS256 $TEST_NGINX_KEY_DIR/hs256-next.key kid=next;
    restauth_jwt_key HS256 $TEST_NGINX_KEY_DIR/hs256.key;
--- request eval
["GET /auth/user/", "POST /auth/login/\n{\"username\": \"alice\", \"password\": \"Alice-Pass-2024\"}"]
--- more_headers eval
["Authorization: Bearer $::T{ALICE_ACCESS}", "Content-Type: application/json"]
--- response_body_like eval
[
qr/^\{"pk": 1, "username": "alice"/,
qr/^\{"access": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6Im5leHQifQ\.[\w-]+\.[\w-]+", "refresh": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6Im5leHQifQ\./,
]



=== TEST 2: rotation step 2: once the old key is removed its tokens stop working
--- http_config
    restauth_jwt_key HS256 $TEST_NGINX_KEY_DIR/hs256-next.key kid=next;
--- request
GET /auth/user/
--- more_headers eval
"Authorization: Bearer $::T{ALICE_ACCESS}"
--- error_code: 401



=== TEST 3: RS256, ES256 and EdDSA sign, with their kid in the header
--- http_config
    restauth_password_iterations 1000;
    restauth_jwt_key RS256 $TEST_NGINX_KEY_DIR/rs256.pem kid=k;
--- request
POST /auth/login/
{"username": "alice", "password": "Alice-Pass-2024"}
--- more_headers
Content-Type: application/json
--- response_body_like: ^\{"access": "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImsifQ\.[\w-]+\.[\w-]{340,}"



=== TEST 4: ES256
--- http_config
    restauth_password_iterations 1000;
    restauth_jwt_key ES256 $TEST_NGINX_KEY_DIR/es256.pem kid=k;
--- request
POST /auth/login/
{"username": "alice", "password": "Alice-Pass-2024"}
--- more_headers
Content-Type: application/json
--- response_body_like: ^\{"access": "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6ImsifQ\.[\w-]+\.[\w-]{86}"



=== TEST 5: EdDSA
--- http_config
    restauth_password_iterations 1000;
    restauth_jwt_key EdDSA $TEST_NGINX_KEY_DIR/ed25519.pem kid=k;
--- request
POST /auth/login/
{"username": "alice", "password": "Alice-Pass-2024"}
--- more_headers
Content-Type: application/json
--- response_body_like: ^\{"access": "eyJhbGciOiJFZERTQSIsInR5cCI6IkpXVCIsImtpZCI6ImsifQ\.[\w-]+\.[\w-]{86}"



=== TEST 6: an HS256 token cannot pass for an RS256 one (algorithm confusion)
--- http_config
    restauth_jwt_key RS256 $TEST_NGINX_KEY_DIR/rs256.pem;
--- request
GET /auth/user/
--- more_headers eval
"Authorization: Bearer $::T{ALICE_ACCESS}"
--- error_code: 401
--- error_log
token rejected: alg_mismatch



=== TEST 7: a public key alone cannot sign
--- http_config
    restauth_jwt_key RS256 $TEST_NGINX_KEY_DIR/rs256.pub.pem;
--- must_die
--- error_log eval
qr{restauth_jwt_key "[^"]*/rs256\.pub\.pem": the first key signs tokens, so it must be a secret or a private key, not a public key}



=== TEST 8: an unknown algorithm is refused at startup
--- http_config
    restauth_jwt_key none $TEST_NGINX_KEY_DIR/hs256.key;
--- must_die
--- error_log
unsupported algorithm "none"



=== TEST 9: an unknown user field in restauth_jwt_claims is refused at startup
--- http_config
    restauth_jwt_claims username password;
--- must_die
--- error_log
restauth_jwt_claims: unknown user field "password"



=== TEST 10: a weak HMAC key (48 bytes for HS512) is refused at startup
--- http_config
    restauth_jwt_key HS512 $TEST_NGINX_SERVER_ROOT/html/short.key;
--- user_files eval
[["short.key", "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKL"]]
--- must_die
--- error_log
HS512 secrets must be at least 64 bytes, this one has 48
