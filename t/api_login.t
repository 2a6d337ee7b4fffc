# POST /auth/login/ against the users of t/fixtures/seed.redis.
use Test::Nginx::Socket 'no_plan';
use lib 't';
use RestauthTest;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: login by username returns the JWT pair and the user
--- http_config
    restauth_password_iterations 1000;
--- request
POST /auth/login/
{"username": "alice", "password": "Alice-Pass-2024"}
--- more_headers
Content-Type: application/json
--- response_headers
Content-Type: application/json
--- response_body_like: ^\{"access": "eyJ[\w-]+\.[\w-]+\.[\w-]+", "refresh": "eyJ[\w-]+\.[\w-]+\.[\w-]+", "user": \{"pk": 1, "username": "alice", "email": "alice@example.com", "first_name": "", "last_name": ""\}\}$



=== TEST 2: login without the trailing slash, by email, case-insensitive, form-encoded
--- http_config
    restauth_password_iterations 1000;
--- request
POST /auth/login
email=ALICE%40Example.com&password=Alice-Pass-2024
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- response_body_like: "user": \{"pk": 1, "username": "alice"



=== TEST 3: username may hold an email
--- http_config
    restauth_password_iterations 1000;
--- request
POST /auth/login/
{"username": "Bob@Example.com", "password": "Bob-Pass-2024"}
--- more_headers
Content-Type: application/json
--- response_body_like: "user": \{"pk": 2, "username": "bob"



=== TEST 4: multipart body
--- http_config
    restauth_password_iterations 1000;
--- request eval
"POST /auth/login/\r
--XyZ\r
Content-Disposition: form-data; name=\"username\"\r
\r
alice\r
--XyZ\r
Content-Disposition: form-data; name=\"password\"\r
\r
Alice-Pass-2024\r
--XyZ--\r
"
--- more_headers
Content-Type: multipart/form-data; boundary=XyZ
--- response_body_like: "user": \{"pk": 1,



=== TEST 5: wrong password, unknown user and inactive user answer alike
--- http_config
    restauth_password_iterations 1000;
--- request eval
[
"POST /auth/login/\n{\"username\": \"alice\", \"password\": \"wrong-password\"}",
"POST /auth/login/\n{\"username\": \"nobody-here\", \"password\": \"wrong-password\"}",
"POST /auth/login/\n{\"username\": \"carol\", \"password\": \"Carol-Pass-2024\"}",
]
--- more_headers
Content-Type: application/json
--- error_code eval
[400, 400, 400]
--- response_body eval
[
qq({"non_field_errors": ["Unable to log in with provided credentials."]}),
qq({"non_field_errors": ["Unable to log in with provided credentials."]}),
qq({"non_field_errors": ["Unable to log in with provided credentials."]}),
]



=== TEST 6: field errors
--- http_config
    restauth_password_iterations 1000;
--- request eval
[
"POST /auth/login/\n{\"username\": \"alice\"}",
"POST /auth/login/\n{\"password\": \"x\"}",
"POST /auth/login/\n{\"username\": \"\", \"email\": \"\", \"password\": \"x\"}",
"POST /auth/login/\n{\"email\": \"not-an-email\", \"password\": \"x\"}",
"POST /auth/login/\n{\"username\": \"alice\", \"password\": \"\"}",
]
--- more_headers
Content-Type: application/json
--- error_code eval
[400, 400, 400, 400, 400]
--- response_body eval
[
qq({"password": ["This field is required."]}),
qq({"non_field_errors": ["Must include either \\"username\\" or \\"email\\" and \\"password\\"."]}),
qq({"non_field_errors": ["Must include either \\"username\\" or \\"email\\" and \\"password\\"."]}),
qq({"email": ["Enter a valid email address."]}),
qq({"password": ["This field may not be blank."]}),
]



=== TEST 7: malformed JSON, non-object JSON, unsupported media type
--- request eval
[
"POST /auth/login/\n{\"username\": ",
"POST /auth/login/\n[1, 2]",
"POST /auth/login/\nusername=alice",
]
--- more_headers eval
[
"Content-Type: application/json",
"Content-Type: application/json",
"Content-Type: text/plain",
]
--- error_code eval
[400, 400, 415]
--- response_body_like eval
[
qr/^\{"detail": "JSON parse error - [^"]+"\}$/,
qr/^\{"non_field_errors": \["Invalid data. Expected a dictionary, but got list."\]\}$/,
qr/^\{"detail": "Unsupported media type \\"text\/plain\\" in request."\}$/,
]



=== TEST 8: GET on login is a 405 with Allow
--- request
GET /auth/login/
--- error_code: 405
--- response_headers
Allow: POST, OPTIONS
Content-Type: application/json
--- response_body chomp
{"detail": "Method \"GET\" not allowed."}



=== TEST 9: a too large body is a JSON 413
--- config
    location /auth/ {
        restauth_api;
        restauth_max_body_size 64;
    }
--- request eval
"POST /auth/login/\n{\"username\": \"alice\", \"password\": \"" . ("x" x 200) . "\"}"
--- more_headers
Content-Type: application/json
--- error_code: 413
--- response_headers
Content-Type: application/json
--- response_body chomp
{"detail": "Request body is too large."}



=== TEST 10: a Django hash (260000 iterations) logs in and is stored again at 1000 iterations
--- http_config
    restauth_password_iterations 1000;
--- log_level: info
--- request
POST /auth/login/
{"username": "dave", "password": "django-legacy-pw"}
--- more_headers
Content-Type: application/json
--- response_body_like: "user": \{"pk": 4, "username": "dave"
--- redis_after
HGET restauth:user:4 password =~ \Apbkdf2_sha256\$1000\$[^\$]+\$[A-Za-z0-9+/]{43}=\z
HGET restauth:user:4 password !~ fixturesalt4
--- error_log
upgraded password hash of user 4
--- no_error_log
django-legacy-pw



=== TEST 11: mandatory verification refuses an unverified address after the password matched
--- http_config
    restauth_password_iterations 1000;
    restauth_email_verification mandatory;
--- request
POST /auth/login/
{"username": "heidi", "password": "Heidi-Pass-2024"}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body chomp
{"non_field_errors": ["E-mail is not verified."]}



=== TEST 12: cookies are set when configured
--- http_config
    restauth_password_iterations 1000;
    restauth_cookie_access access_token;
    restauth_cookie_refresh refresh_token;
    restauth_cookie_refresh_path /auth/token/refresh/;
--- request
POST /auth/login/
{"username": "alice", "password": "Alice-Pass-2024"}
--- more_headers
Content-Type: application/json
--- raw_response_headers_like eval
qr{Set-Cookie: access_token=eyJ[^;]+; expires=[^;]+ GMT; Max-Age=300; Path=/; HttpOnly; SameSite=Lax\r\nSet-Cookie: refresh_token=eyJ[^;]+; expires=[^;]+ GMT; Max-Age=86400; Path=/auth/token/refresh/; HttpOnly; SameSite=Lax\r\n}
--- response_body_like: ^\{"access": "eyJ[^"]+", "refresh": "", "user"



=== TEST 13: a client leaving while its password hashes frees the call when the job ends
The proxy gives up on the login while it hashes; error_page sends the same
login again, and with one hashing slot it runs only after the abandoned
job has ended, so the answer comes after the log line, however slow the
machine.
--- http_config
    restauth_password_iterations 3000000;
    restauth_rate_limit login_ip off;
    restauth_rate_limit login_account off;
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
--- request
POST /leave-while-hashing
{"username": "nobody-here", "password": "whatever-it-is"}
--- more_headers
Content-Type: application/json
--- timeout: 120
--- error_code: 400
--- error_log
client prematurely closed connection
restauth: job for a finished request completed
--- no_error_log
[alert]
[crit]



=== TEST 14: Redis down: login, logout and password change answer 503 JSON
--- http_config
    restauth_redis 127.0.0.1:19098;
--- request eval
[
"POST /auth/login/\n{\"username\": \"alice\", \"password\": \"Alice-Pass-2024\"}",
"POST /auth/logout/\n{\"refresh\": \"$::T{ALICE_REFRESH}\"}",
"POST /auth/password/change/\n{\"new_password1\": \"Brand-New-Pass-1\", \"new_password2\": \"Brand-New-Pass-1\"}",
"POST /auth/registration/\n{\"username\": \"nora\", \"email\": \"nora\@example.com\", \"password1\": \"Quite-Long-Pass-7\", \"password2\": \"Quite-Long-Pass-7\"}",
]
--- more_headers eval
"Content-Type: application/json
Authorization: Bearer $::T{ERIN_ACCESS}"
--- error_code eval
[503, 503, 503, 503]
--- response_headers eval
["Content-Type: application/json", "Content-Type: application/json", "Content-Type: application/json", "Content-Type: application/json"]
--- response_body eval
[
qq({"detail": "Service temporarily unavailable, try again later."}),
qq({"detail": "Service temporarily unavailable, try again later."}),
qq({"detail": "Service temporarily unavailable, try again later."}),
qq({"detail": "Service temporarily unavailable, try again later."}),
]
--- error_log
restauth: redis is unavailable



=== TEST 15: a username that is someone else's address does not shut them out
Registering the username carol@example.com must not stop the account whose
address it is from logging in by that address in the "username" field (as
allauth's username_email method: the address's owner first, then the
username).  The other account still logs in with its own password.  A wrong
password counts once against the login name, and answers as an unknown name
does; the successful logins leave no count behind.
--- http_config
    restauth_redis_prefix "either:";
    restauth_password_iterations 1000;
--- redis_before
EVAL "for _, k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end return 0" 0 either:*
--- request eval
[
"POST /auth/registration/\n{\"username\": \"realcarol\", \"email\": \"carol\@example.com\", \"password1\": \"Carol-Real-Pass-2024\", \"password2\": \"Carol-Real-Pass-2024\"}",
"POST /auth/registration/\n{\"username\": \"carol\@example.com\", \"email\": \"mallory\@example.com\", \"password1\": \"Mallory-Own-Pass-2024\", \"password2\": \"Mallory-Own-Pass-2024\"}",
"POST /auth/login/\n{\"username\": \"Carol\@Example.com\", \"password\": \"Carol-Real-Pass-2024\"}",
"POST /auth/login/\n{\"username\": \"carol\@example.com\", \"password\": \"Mallory-Own-Pass-2024\"}",
"POST /auth/login/\n{\"username\": \"carol\@example.com\", \"password\": \"wrong-password\"}",
"POST /auth/login/\n{\"username\": \"nobody\@example.com\", \"password\": \"wrong-password\"}",
]
--- more_headers
Content-Type: application/json
--- error_code eval
[201, 201, 200, 200, 400, 400]
--- response_body_like eval
[
qr/"user": \{"pk": 1, "username": "realcarol", "email": "carol.example\.com"/,
qr/"user": \{"pk": 2, "username": "carol.example\.com", "email": "mallory.example\.com"/,
qr/"user": \{"pk": 1, "username": "realcarol", "email": "carol.example\.com"/,
qr/"user": \{"pk": 2, "username": "carol.example\.com", "email": "mallory.example\.com"/,
qr/^\{"non_field_errors": \["Unable to log in with provided credentials."\]\}$/,
qr/^\{"non_field_errors": \["Unable to log in with provided credentials."\]\}$/,
]
--- redis_after
GET either:rl:login_account:e0d47ca1bc1eb62e650fc1fd660a9bfb => 1
EXISTS either:rl:login_account:e788ea2014693dcdb86767aceb3860a4 => 1
HGET either:users:by_username carol@example.com => 2
HGET either:users:by_email carol@example.com => 1
