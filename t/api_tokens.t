# token/verify/, token/refresh/ (rotation, reuse detection), sessions/,
# .well-known/jwks.json.
use Test::Nginx::Socket 'no_plan';
use lib 't';
use RestauthTest;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: verify accepts valid access and refresh tokens
--- request eval
[
"POST /auth/token/verify/\n{\"token\": \"$::T{ALICE_ACCESS}\"}",
"POST /auth/token/verify\n{\"token\": \"$::T{ALICE_REFRESH}\"}",
]
--- more_headers
Content-Type: application/json
--- response_body eval
["{}", "{}"]



=== TEST 2: verify rejects garbage, alg none, tampered and expired tokens
--- request eval
[
"POST /auth/token/verify/\n{\"token\": \"garbage\"}",
"POST /auth/token/verify/\n{\"token\": \"$::T{ALICE_ALG_NONE}\"}",
"POST /auth/token/verify/\n{\"token\": \"$::T{ALICE_TAMPERED}\"}",
"POST /auth/token/verify/\n{\"token\": \"$::T{ALICE_EXPIRED}\"}",
"POST /auth/token/verify/\n{\"token\": \"\"}",
"POST /auth/token/verify/\n{}",
]
--- more_headers
Content-Type: application/json
--- error_code eval
[401, 401, 401, 401, 400, 400]
--- response_body eval
[
qq({"detail": "Token is invalid or expired", "code": "token_not_valid"}),
qq({"detail": "Token is invalid or expired", "code": "token_not_valid"}),
qq({"detail": "Token is invalid or expired", "code": "token_not_valid"}),
qq({"detail": "Token is invalid or expired", "code": "token_not_valid"}),
qq({"token": ["This field may not be blank."]}),
qq({"token": ["This field is required."]}),
]



=== TEST 3: refresh rotates: a new pair with expirations
--- request eval
"POST /auth/token/refresh/
{\"refresh\": \"$::T{IVAN_REFRESH}\"}"
--- more_headers
Content-Type: application/json
--- response_body_like: ^\{"access": "eyJ[\w-]+\.[\w-]+\.[\w-]+", "refresh": "eyJ[\w-]+\.[\w-]+\.[\w-]+", "access_expiration": "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "refresh_expiration": "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"\}$



=== TEST 4: the rotated token is dead, and reusing it is logged as theft
--- log_level: info
--- request eval
"POST /auth/token/refresh/
{\"refresh\": \"$::T{IVAN_REFRESH}\"}"
--- more_headers
Content-Type: application/json
--- error_code: 401
--- response_body chomp
{"detail": "Token is blacklisted", "code": "token_not_valid"}
--- error_log
refresh token reuse detected for user 9



=== TEST 5: verify calls a rotated refresh token blacklisted (its session lives on, newer jti) without revoking anything; reusing it at refresh revokes the whole session
--- request eval
[
"POST /auth/token/verify/\n{\"token\": \"$::T{IVAN_REFRESH_OLD}\"}",
"POST /auth/token/verify/\n{\"token\": \"$::T{IVAN_REFRESH_CUR}\"}",
"POST /auth/token/refresh/\n{\"refresh\": \"$::T{IVAN_REFRESH_OLD}\"}",
"POST /auth/token/refresh/\n{\"refresh\": \"$::T{IVAN_REFRESH_CUR}\"}",
"POST /auth/token/verify/\n{\"token\": \"$::T{IVAN_REFRESH_CUR}\"}",
]
--- more_headers
Content-Type: application/json
--- error_code eval
[400, 200, 401, 401, 400]
--- response_body eval
[
qq({"non_field_errors": ["Token is blacklisted"]}),
qq({}),
qq({"detail": "Token is blacklisted", "code": "token_not_valid"}),
qq({"detail": "Token is blacklisted", "code": "token_not_valid"}),
qq({"non_field_errors": ["Token is blacklisted"]}),
]



=== TEST 6: refresh errors: wrong type, nothing, blank, expired
--- request eval
[
"POST /auth/token/refresh/\n{\"refresh\": \"$::T{ALICE_ACCESS}\"}",
"POST /auth/token/refresh/\n{}",
"POST /auth/token/refresh/\n{\"refresh\": \"\"}",
"POST /auth/token/refresh/\n{\"refresh\": \"$::T{REFRESH_EXPIRED}\"}",
]
--- more_headers
Content-Type: application/json
--- error_code eval
[401, 401, 400, 401]
--- response_body eval
[
qq({"detail": "Token has wrong type", "code": "token_not_valid"}),
qq({"detail": "No valid refresh token found.", "code": "token_not_valid"}),
qq({"refresh": ["This field may not be blank."]}),
qq({"detail": "Token is invalid or expired", "code": "token_not_valid"}),
]



=== TEST 7: refreshing for an inactive or deleted user fails
--- request eval
[
"POST /auth/token/refresh/\n{\"refresh\": \"$::T{CAROL_REFRESH}\"}",
"POST /auth/token/refresh/\n{\"refresh\": \"$::T{GHOST_REFRESH}\"}",
]
--- more_headers
Content-Type: application/json
--- error_code eval
[401, 401]
--- response_body eval
[
qq({"detail": "No active account found for the given token.", "code": "no_active_account"}),
qq({"detail": "No active account found for the given token.", "code": "no_active_account"}),
]



=== TEST 8: refresh from the cookie; HttpOnly keeps it out of the body
--- http_config
    restauth_cookie_access access_token;
    restauth_cookie_refresh refresh_token;
--- request
POST /auth/token/refresh/
--- more_headers eval
"X-CSRFToken: $::T{ALICE_COOKIE_CSRF}
Cookie: csrftoken=$::T{ALICE_COOKIE_CSRF}; refresh_token=$::T{ALICE_REFRESH_COOKIE}"
--- response_body_like: ^\{"access": "eyJ[^"]+", "access_expiration": "[^"]+", "refresh_expiration": "[^"]+"\}$
--- raw_response_headers_like eval
qr{Set-Cookie: access_token=eyJ[^;]+; expires=[^;]+; Max-Age=300; Path=/; HttpOnly; SameSite=Lax\r\nSet-Cookie: refresh_token=eyJ[^;]+; expires=[^;]+; Max-Age=86400; Path=/; HttpOnly; SameSite=Lax\r\nSet-Cookie: csrftoken=[0-9a-f]{64}; expires=[^;]+; Max-Age=86400; Path=/; SameSite=Lax\r\n}



=== TEST 9: sessions: list with "current", revoke one, not someone else's
--- request eval
[
"GET /auth/sessions/",
"DELETE /auth/sessions/66666666666666666666666666666666/",
"DELETE /auth/sessions/66666666666666666666666666666666",
"DELETE /auth/sessions/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/",
"GET /auth/sessions",
"POST /auth/sessions/77777777777777777777777777777777/\n{}",
]
--- more_headers eval
"Authorization: Bearer $::T{JUDY_ACCESS}
Content-Type: application/json"
--- error_code eval
[200, 204, 404, 404, 200, 405]
--- response_body_like eval
[
qr/^\[(\{"id": "(6{32}|7{32})", "created": "2023-11-14T22:13:20Z", "last_used": "2023-11-14T22:13:20Z", "user_agent": "fixture", "ip": "127.0.0.1", "current": (true|false)\}(, )?){2}\]$/,
qr/^$/,
qr/^\{"detail": "Not found."\}$/,
qr/^\{"detail": "Not found."\}$/,
qr/^\[\{"id": "7{32}", "created": "[^"]+", "last_used": "[^"]+", "user_agent": "fixture", "ip": "127.0.0.1", "current": true\}\]$/,
qr/^\{"detail": "Method \\"POST\\" not allowed."\}$/,
]



=== TEST 10: sessions need authentication
--- request
GET /auth/sessions/
--- error_code: 401
--- response_body chomp
{"detail": "Authentication credentials were not provided."}



=== TEST 11: JWKS publishes the public keys, in configuration order
--- http_config
    restauth_jwt_key RS256 $TEST_NGINX_KEY_DIR/rs256.pem kid=rsa1;
    restauth_jwt_key ES256 $TEST_NGINX_KEY_DIR/es256.pem kid=ec1;
    restauth_jwt_key EdDSA $TEST_NGINX_KEY_DIR/ed25519.pem kid=ed1;
    restauth_jwt_key HS256 $TEST_NGINX_KEY_DIR/hs256.key kid=hs1;
--- request
GET /auth/.well-known/jwks.json
--- response_headers
Content-Type: application/json
--- response_body_like: ^\{"keys": ?\[\{.*"kty": ?"RSA".*"kid": ?"rsa1".*\},\s*\{.*"crv": ?"P-256".*\},\s*\{.*"crv": ?"Ed25519".*\}\]\}$



=== TEST 12: JWKS never shows an HMAC secret
Neither the HMAC key's kid, nor an "oct" key, nor the secret (raw or in the
base64url form of a JWK "k") appears.  (Test::Nginx checks only
response_body_like when a block has both, hence a block of its own.)
--- http_config
    restauth_jwt_key RS256 $TEST_NGINX_KEY_DIR/rs256.pem kid=rsa1;
    restauth_jwt_key ES256 $TEST_NGINX_KEY_DIR/es256.pem kid=ec1;
    restauth_jwt_key EdDSA $TEST_NGINX_KEY_DIR/ed25519.pem kid=ed1;
    restauth_jwt_key HS256 $TEST_NGINX_KEY_DIR/hs256.key kid=hs1;
--- request
GET /auth/.well-known/jwks.json
--- response_body_unlike eval
my $k = RestauthTest::b64url(substr(RestauthTest::read_key("$ENV{TEST_NGINX_KEY_DIR}/hs256.key"), 0, 30));
qr/hs1|"oct"|restauth-test-only|\Q$k\E/
