# Usernames in NFKC, as Django's AbstractBaseUser.normalize_username()
# (unicodedata.normalize('NFKC', ...)) and UsernameField: registration,
# PUT/PATCH user/ and the login name.  "ａｄｍｉｎ" (fullwidth) is "admin":
# it cannot be registered next to it, never reaches the index or the
# upstream as an identity, and logs in as (and counts against) "admin".
# Users 901 ("admin", Alice-Pass-2024) and 902 (with a session) are created
# here; the last block locks "admin" for a minute.
use Test::Nginx::Socket 'no_plan';
use lib 't';
use RestauthTest;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: registering the fullwidth spelling of an existing username is the duplicate-username error
--- http_config
    restauth_password_iterations 1000;
    restauth_email_verification none;
    restauth_rate_limit registration_ip off;
--- redis_before
HSET restauth:user:901 id 901 username admin email nfkc-admin@example.com password pbkdf2_sha256$1000$fixturesalt1$gV/fBCwSj7UiKDfimmPw01aP9uaQ0AxHKvKN7lq3P0Y= first_name "" last_name "" is_active 1 is_staff 0 is_superuser 0 email_verified 1 date_joined 2024-01-01T00:00:00Z last_login ""
HSET restauth:users:by_username admin 901
HSET restauth:users:by_email nfkc-admin@example.com 901
HSET restauth:user:902 id 902 username nfkcpatch email nfkcpatch@example.com password pbkdf2_sha256$1000$fixturesalt1$gV/fBCwSj7UiKDfimmPw01aP9uaQ0AxHKvKN7lq3P0Y= first_name "" last_name "" is_active 1 is_staff 0 is_superuser 0 email_verified 1 date_joined 2024-01-01T00:00:00Z last_login ""
HSET restauth:users:by_username nfkcpatch 902
HSET restauth:users:by_email nfkcpatch@example.com 902
HSET restauth:session:90290290290290290290290290290290 user_id 902 jti 92929292929292929292929292929292 created 1700000000 last_used 1700000000 user_agent fixture ip 127.0.0.1 expires 4102444800
SADD restauth:user:902:sessions 90290290290290290290290290290290
--- request eval
[
'POST /auth/registration/
{"username": "\uff41\uff44\uff4d\uff49\uff4e", "email": "nfkc-1@example.com", "password1": "Nfkc-Pass-2024", "password2": "Nfkc-Pass-2024"}',
'POST /auth/registration/
{"username": "\uff21\uff24\uff2d\uff29\uff2e", "email": "nfkc-2@example.com", "password1": "Nfkc-Pass-2024", "password2": "Nfkc-Pass-2024"}',
]
--- more_headers
Content-Type: application/json
--- error_code eval
[400, 400]
--- response_body eval
[
qq({"username": ["A user with that username already exists."]}),
qq({"username": ["A user with that username already exists."]}),
]
--- redis_after
HEXISTS restauth:users:by_username ａｄｍｉｎ => 0
HGET restauth:users:by_username admin => 901
HEXISTS restauth:users:by_email nfkc-1@example.com => 0
HEXISTS restauth:users:by_email nfkc-2@example.com => 0



=== TEST 2: a registered name is stored, indexed and answered in NFKC (fullwidth, ligature, circled digit, superscript)
--- http_config
    restauth_password_iterations 1000;
    restauth_email_verification none;
    restauth_rate_limit registration_ip off;
--- request
POST /auth/registration/
{"username": "\uff4e\uff46\uff4b\uff43-\ufb01\u2460\u00b2", "email": "nfkc-3@example.com", "password1": "Nfkc-Pass-2024", "password2": "Nfkc-Pass-2024"}
--- more_headers
Content-Type: application/json
--- error_code: 201
--- response_body_like: "user": \{"pk": \d+, "username": "nfkc-fi12", "email": "nfkc-3@example.com"
--- redis_after
EVAL "return redis.call('HGET', 'restauth:user:' .. redis.call('HGET', KEYS[1], ARGV[1]), 'username')" 1 restauth:users:by_username nfkc-fi12 => nfkc-fi12
HGET restauth:users:by_email nfkc-3@example.com =~ \A\d+\z
HEXISTS restauth:users:by_username ｎｆｋｃ-ﬁ①² => 0



=== TEST 3: the fullwidth spelling logs in as the user (Django's AuthenticationForm normalises too)
--- http_config
    restauth_password_iterations 1000;
--- request eval
[
'POST /auth/login/
{"username": "\uff41\uff44\uff4d\uff49\uff4e", "password": "Alice-Pass-2024"}',
'POST /auth/login/
{"username": "\uff21\uff24\uff2d\uff29\uff2e", "password": "Alice-Pass-2024"}',
]
--- more_headers
Content-Type: application/json
--- error_code eval
[200, 200]
--- response_body_like eval
[
qr/"user": \{"pk": 901, "username": "admin", "email": "nfkc-admin\@example.com"/,
qr/"user": \{"pk": 901, "username": "admin", "email": "nfkc-admin\@example.com"/,
]



=== TEST 4: PUT/PATCH user/ store the NFKC form; a fullwidth spelling of another user's name is taken
--- request eval
[
'PATCH /auth/user/
{"username": "\uff4e\uff46\uff4b\uff43\uff50\uff41\uff54\uff43\uff48"}',
'PATCH /auth/user/
{"username": "\uff41\uff44\uff4d\uff49\uff4e"}',
'PUT /auth/user/
{"username": "\uff4e\uff46\uff4b\uff43\uff0d\uff50\uff41\uff54\uff43\uff48\uff12"}',
]
--- more_headers eval
"Authorization: Bearer " . RestauthTest::access_token(902, 'nfkcpatch', '902' x 10 . '90') . "
Content-Type: application/json"
--- error_code eval
[200, 400, 200]
--- response_body eval
[
qq({"pk": 902, "username": "nfkcpatch", "email": "nfkcpatch\@example.com", "first_name": "", "last_name": ""}),
qq({"username": ["A user with that username already exists."]}),
qq({"pk": 902, "username": "nfkc-patch2", "email": "nfkcpatch\@example.com", "first_name": "", "last_name": ""}),
]
--- redis_after
HGET restauth:user:902 username => nfkc-patch2
HGET restauth:users:by_username nfkc-patch2 => 902
HEXISTS restauth:users:by_username nfkcpatch => 0
HGET restauth:users:by_username admin => 901



=== TEST 5: every spelling of a name counts against the same account lock
--- http_config
    restauth_password_iterations 1000;
    restauth_rate_limit login_account 3 1m;
--- request eval
[
'POST /auth/login/
{"username": "\uff41\uff44\uff4d\uff49\uff4e", "password": "wrong-1"}',
'POST /auth/login/
{"username": "\uff21\uff24\uff2d\uff29\uff2e", "password": "wrong-2"}',
'POST /auth/login/
{"username": "Admin", "password": "wrong-3"}',
'POST /auth/login/
{"username": "admin", "password": "Alice-Pass-2024"}',
]
--- more_headers
Content-Type: application/json
--- error_code eval
[400, 400, 400, 400]
--- response_body eval
[
qq({"non_field_errors": ["Unable to log in with provided credentials."]}),
qq({"non_field_errors": ["Unable to log in with provided credentials."]}),
qq({"non_field_errors": ["Unable to log in with provided credentials."]}),
qq({"non_field_errors": ["Unable to log in with provided credentials."]}),
]
--- redis_after
# The counter of "admin" (sha256_hex("admin") truncated) holds all three
# failures: 3, or 4 if the refused fourth attempt is counted as well.
GET restauth:rl:login_account:8c6976e5b5410415bde908bd4dee15df =~ \A[34]\z



=== TEST 6: the lock refuses the right password by the fullwidth spelling too, and says so in the log
--- http_config
    restauth_password_iterations 1000;
    restauth_rate_limit login_account 3 1m;
--- request
POST /auth/login/
{"username": "\uff41\uff44\uff4d\uff49\uff4e", "password": "Alice-Pass-2024"}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body chomp
{"non_field_errors": ["Unable to log in with provided credentials."]}
--- error_log
login_account limit reached
