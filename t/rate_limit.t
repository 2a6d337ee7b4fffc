# restauth_rate_limit: counters in Redis; 429 JSON with Retry-After; a
# locked account answers exactly like an unknown one.  Tests that count per
# client address use their own restauth_redis_prefix so counters start at 0.
use Test::Nginx::Socket 'no_plan';

no_shuffle();
run_tests();

__DATA__

=== TEST 1: failed logins lock the account; the right password then fails like an unknown user
--- http_config
    restauth_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    restauth_jwt_key HS256 $TEST_NGINX_KEY_DIR/hs256.key;
    restauth_password_iterations 1000;
    restauth_rate_limit login_account 3 1m;
--- config
    location /auth/ { restauth_api; }
--- request eval
[
"POST /auth/login/\n{\"username\": \"ivan\", \"password\": \"wrong-1\"}",
"POST /auth/login/\n{\"username\": \"IVAN\", \"password\": \"wrong-2\"}",
"POST /auth/login/\n{\"username\": \"ivan\", \"password\": \"wrong-3\"}",
"POST /auth/login/\n{\"username\": \"ivan\", \"password\": \"Ivan-Pass-2024\"}",
"POST /auth/login/\n{\"username\": \"nobody-at-all\", \"password\": \"Ivan-Pass-2024\"}",
]
--- more_headers
Content-Type: application/json
--- error_code eval
[400, 400, 400, 400, 400]
--- response_body eval
[
qq({"non_field_errors": ["Unable to log in with provided credentials."]}),
qq({"non_field_errors": ["Unable to log in with provided credentials."]}),
qq({"non_field_errors": ["Unable to log in with provided credentials."]}),
qq({"non_field_errors": ["Unable to log in with provided credentials."]}),
qq({"non_field_errors": ["Unable to log in with provided credentials."]}),
]



=== TEST 2: the lockout is logged
--- http_config
    restauth_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    restauth_jwt_key HS256 $TEST_NGINX_KEY_DIR/hs256.key;
    restauth_password_iterations 1000;
    restauth_rate_limit login_account 3 1m;
--- config
    location /auth/ { restauth_api; }
--- request
POST /auth/login/
{"username": "ivan", "password": "Ivan-Pass-2024"}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- error_log
login_account limit reached



=== TEST 3: failed logins per client address answer 429 with Retry-After
--- http_config
    restauth_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    restauth_redis_prefix "rl-login-ip:";
    restauth_jwt_key HS256 $TEST_NGINX_KEY_DIR/hs256.key;
    restauth_password_iterations 1000;
    restauth_rate_limit login_ip 2 10m;
--- config
    location /auth/ { restauth_api; }
--- request eval
[
"POST /auth/login/\n{\"username\": \"a1\", \"password\": \"x\"}",
"POST /auth/login/\n{\"username\": \"a2\", \"password\": \"x\"}",
"POST /auth/login/\n{\"username\": \"a3\", \"password\": \"x\"}",
]
--- more_headers
Content-Type: application/json
--- error_code eval
[400, 400, 429]
--- response_headers_like eval
["Retry-After: ", "Retry-After: ", "Retry-After: (600|599|598)"]
--- response_body_like eval
[
qr/Unable to log in/,
qr/Unable to log in/,
qr/^\{"detail": "Request was throttled. Expected available in (600|599|598) seconds."\}$/,
]



=== TEST 4: registrations per client address
--- http_config
    restauth_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    restauth_redis_prefix "rl-registration:";
    restauth_jwt_key HS256 $TEST_NGINX_KEY_DIR/hs256.key;
    restauth_password_iterations 1000;
    restauth_rate_limit registration_ip 1 1h;
--- config
    location /auth/ { restauth_api; }
--- request eval
[
"POST /auth/registration/\n{\"username\": \"newbie\", \"email\": \"newbie\@example.com\", \"password1\": \"Quite-Long-Pass-7\", \"password2\": \"Quite-Long-Pass-7\"}",
"POST /auth/registration/\n{\"username\": \"newbie2\", \"email\": \"newbie2\@example.com\", \"password1\": \"Quite-Long-Pass-7\", \"password2\": \"Quite-Long-Pass-7\"}",
]
--- more_headers
Content-Type: application/json
--- error_code eval
[201, 429]



=== TEST 5: reset mails per address, whether or not the address exists
--- http_config
    restauth_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    restauth_redis_prefix "rl-mail:";
    restauth_jwt_key HS256 $TEST_NGINX_KEY_DIR/hs256.key;
    restauth_rate_limit mail_address 1 1h;
--- config
    location /auth/ { restauth_api; }
--- request eval
[
"POST /auth/password/reset/\n{\"email\": \"someone\@example.com\"}",
"POST /auth/password/reset/\n{\"email\": \"SOMEONE\@example.com\"}",
"POST /auth/registration/resend-email/\n{\"email\": \"someone\@example.com\"}",
"POST /auth/password/reset/\n{\"email\": \"other\@example.com\"}",
]
--- more_headers
Content-Type: application/json
--- error_code eval
[200, 429, 429, 200]



=== TEST 6: a limit can be turned off; bad directives are refused
--- http_config
    restauth_jwt_key HS256 $TEST_NGINX_KEY_DIR/hs256.key;
    restauth_rate_limit login_ip off;
    restauth_rate_limit logins 5 1m;
--- config
    location /auth/ { restauth_api; }
--- must_die
--- error_log
has an unknown kind
