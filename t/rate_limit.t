# restauth_rate_limit: counters in Redis; 429 JSON with Retry-After; a
# locked account answers exactly like an unknown one.  Tests that count per
# client address use their own restauth_redis_prefix so counters start at 0.
use Test::Nginx::Socket 'no_plan';
use lib 't';
use RestauthTest;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: failed logins lock the account; the right password then fails like an unknown user
--- http_config
    restauth_password_iterations 1000;
    restauth_rate_limit login_account 3 1m;
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
--- redis_after
GET restauth:rl:login_account:cd0b9452fc376fc4c35a60087b366f70 => 3
TTL restauth:rl:login_account:cd0b9452fc376fc4c35a60087b366f70 =~ \A(?:[1-5]?[0-9]|60)\z



=== TEST 2: the lockout is logged
--- http_config
    restauth_password_iterations 1000;
    restauth_rate_limit login_account 3 1m;
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
    restauth_redis_prefix "rl-login-ip:";
    restauth_password_iterations 1000;
    restauth_rate_limit login_ip 2 10m;
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
--- redis_after
GET rl-login-ip:rl:login_ip:12ca17b49af2289436f303e0166030a2 => 2



=== TEST 4: registrations per client address
--- http_config
    restauth_redis_prefix "rl-registration:";
    restauth_password_iterations 1000;
    restauth_rate_limit registration_ip 1 1h;
--- request eval
[
"POST /auth/registration/\n{\"username\": \"newbie\", \"email\": \"newbie\@example.com\", \"password1\": \"Quite-Long-Pass-7\", \"password2\": \"Quite-Long-Pass-7\"}",
"POST /auth/registration/\n{\"username\": \"newbie2\", \"email\": \"newbie2\@example.com\", \"password1\": \"Quite-Long-Pass-7\", \"password2\": \"Quite-Long-Pass-7\"}",
]
--- more_headers
Content-Type: application/json
--- error_code eval
[201, 429]
--- redis_after
GET rl-registration:rl:registration_ip:12ca17b49af2289436f303e0166030a2 => 1



=== TEST 5: reset mails per address, whether or not the address exists
--- http_config
    restauth_redis_prefix "rl-mail:";
    restauth_rate_limit mail_address 1 1h;
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
--- redis_after
EVAL "local n = 0 for _, k in ipairs(redis.call('KEYS', ARGV[1])) do n = n + 1 end return n" 0 rl-mail:rl:mail_address:* => 2
EVAL "local n = 0 for _, k in ipairs(redis.call('KEYS', ARGV[1])) do n = n + redis.call('GET', k) end return n" 0 rl-mail:rl:mail_address:* => 2



=== TEST 6: with the default mail_address limit (5 per hour) the sixth mail to one address is refused
--- http_config
    restauth_redis_prefix "rl-default:";
--- request eval
[ map { "POST /auth/password/reset/\n{\"email\": \"limited\@example.com\"}" } 1 .. 6 ]
--- more_headers
Content-Type: application/json
--- error_code eval
[200, 200, 200, 200, 200, 429]



=== TEST 7: restauth_rate_limit mail_address off: traffic beyond the default limit passes, nothing is counted
--- http_config
    restauth_redis_prefix "rl-off:";
    restauth_rate_limit mail_address off;
--- request eval
[ map { "POST /auth/password/reset/\n{\"email\": \"limited\@example.com\"}" } 1 .. 7 ]
--- more_headers
Content-Type: application/json
--- error_code eval
[200, 200, 200, 200, 200, 200, 200]
--- redis_after
EVAL "return #redis.call('KEYS', ARGV[1])" 0 rl-off:rl:mail_address:* => 0



=== TEST 8: an unknown kind is refused at startup
--- http_config
    restauth_rate_limit login_ip off;
    restauth_rate_limit logins 5 1m;
--- must_die
--- error_log
has an unknown kind



=== TEST 9: a client that leaves while its password hashes still counts
Each attempt is counted before its hash.  The proxy gives up on the login
while it hashes (as in t/api_login.t TEST 13); error_page then sends the
same login again, which with one hashing slot runs after the abandoned job.
Both attempts count, against the login name and the address.
--- http_config
    restauth_redis_prefix "rl-gone:";
    restauth_password_iterations 3000000;
    restauth_rate_limit login_ip 100 10m;
    restauth_rate_limit login_account 10 10m;
    restauth_jobs 1;
    restauth_job_queue_timeout 300s;
--- config
    location /auth/ { restauth_api; }
    location = /leave-while-hashing {
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/auth/login/;
        proxy_read_timeout 100ms;
        error_page 504 = @again;
    }
    location @again {
        rewrite ^ /auth/login/ last;
    }
--- redis_before
DEL rl-gone:rl:login_account:cd0b9452fc376fc4c35a60087b366f70 rl-gone:rl:login_ip:12ca17b49af2289436f303e0166030a2
--- request
POST /leave-while-hashing
{"username": "ivan", "password": "wrong-password"}
--- more_headers
Content-Type: application/json
--- timeout: 120
--- error_code: 400
--- error_log
client prematurely closed connection
restauth: job for a finished request completed
--- redis_after
GET rl-gone:rl:login_account:cd0b9452fc376fc4c35a60087b366f70 => 2
GET rl-gone:rl:login_ip:12ca17b49af2289436f303e0166030a2 => 2



=== TEST 10: a successful login hands its attempt back; a locked one counts against the address
--- http_config
    restauth_password_iterations 1000;
    restauth_rate_limit login_ip 10 10m;
    restauth_rate_limit login_account 2 10m;
--- redis_before
DEL restauth:rl:login_account:cd0b9452fc376fc4c35a60087b366f70 restauth:rl:login_account:2bd806c97f0e00af1a1fc3328fa763a9 restauth:rl:login_ip:12ca17b49af2289436f303e0166030a2
--- request eval
[
"POST /auth/login/\n{\"username\": \"ivan\", \"password\": \"wrong-1\"}",
"POST /auth/login/\n{\"username\": \"ivan\", \"password\": \"Ivan-Pass-2024\"}",
"POST /auth/login/\n{\"username\": \"ivan\", \"password\": \"wrong-2\"}",
"POST /auth/login/\n{\"username\": \"ivan\", \"password\": \"Ivan-Pass-2024\"}",
"POST /auth/login/\n{\"username\": \"alice\", \"password\": \"Alice-Pass-2024\"}",
]
--- more_headers
Content-Type: application/json
--- error_code eval
[400, 200, 400, 400, 200]
--- redis_after
GET restauth:rl:login_account:cd0b9452fc376fc4c35a60087b366f70 => 2
GET restauth:rl:login_ip:12ca17b49af2289436f303e0166030a2 => 3
EXISTS restauth:rl:login_account:2bd806c97f0e00af1a1fc3328fa763a9 => 0
