# POST /auth/registration/verify-email/ and /auth/registration/resend-email/,
# and mandatory verification end to end.  Verification keys of
# t/fixtures/selfservice.redis (made by t/fixtures/make-selfservice-fixtures):
# raw keys "fixture-verify-<name>" for users uma (23), vera (24, key sent to a
# since-changed address) and zoe (28, expired).  Mail contents are checked by
# tests/integration/registration_race.sh.
use Test::Nginx::Socket 'no_plan';
use lib 't';
use RestauthTest;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: key required, not blank
--- request eval
[
"POST /auth/registration/verify-email/\n{}",
"POST /auth/registration/verify-email/\n{\"key\": \" \"}",
]
--- more_headers
Content-Type: application/json
--- error_code eval
[400, 400]
--- response_body eval
[
qq({"key": ["This field is required."]}),
qq({"key": ["This field may not be blank."]}),
]



=== TEST 2: unknown, expired, and changed-address keys are not found
--- request eval
[
"POST /auth/registration/verify-email/\n{\"key\": \"no-such-key\"}",
"POST /auth/registration/verify-email/\n{\"key\": \"fixture-verify-zoe-expired\"}",
"POST /auth/registration/verify-email/\n{\"key\": \"fixture-verify-vera\"}",
"POST /auth/login/\n{\"username\": \"vera\", \"password\": \"Vera-Pass-2024\"}",
]
--- more_headers
Content-Type: application/json
--- error_code eval
[404, 404, 404, 200]
--- response_body_like eval
[
qr/^\{"detail": "Not found."\}$/,
qr/^\{"detail": "Not found."\}$/,
qr/^\{"detail": "Not found."\}$/,
qr/"user": \{"pk": 24, "username": "vera"/,
]



=== TEST 3: mandatory verification: registration sends a mail instead of tokens
--- http_config
    restauth_password_iterations 1000;
    restauth_email_verification mandatory;
--- request
POST /auth/registration/
{"username": "mandy", "email": "mandy@example.com", "password1": "Mandy-Pass-2024", "password2": "Mandy-Pass-2024"}
--- more_headers
Content-Type: application/json
--- error_code: 201
--- response_body chomp
{"detail": "Verification e-mail sent."}
--- redis_before
DEL restauth:mail
--- redis_after
XLEN restauth:mail => 1
XRANGE restauth:mail - + =~ \Ato=mandy@example\.com$
XRANGE restauth:mail - + =~ ^kind=email_verification$
XRANGE restauth:mail - + =~ ^key: ([\w-]{43})$.*^key=\1\z
EVAL "local n = 0 for _, k in ipairs(redis.call('KEYS', ARGV[1])) do if redis.call('HGET', k, ARGV[2]) == ARGV[3] then n = n + 1 end end return n" 0 restauth:verify:* email mandy@example.com => 1
--- error_log eval
qr/queued email_verification mail for user \d+/



=== TEST 4: mandatory verification: no login until verified; a key works once
--- http_config
    restauth_password_iterations 1000;
    restauth_email_verification mandatory;
--- request eval
[
"POST /auth/login/\n{\"username\": \"mandy\", \"password\": \"Mandy-Pass-2024\"}",
"POST /auth/login/\n{\"username\": \"uma\", \"password\": \"Uma-Pass-2024\"}",
"POST /auth/registration/verify-email\n{\"key\": \"fixture-verify-uma\"}",
"POST /auth/registration/verify-email/\n{\"key\": \"fixture-verify-uma\"}",
"POST /auth/login/\n{\"username\": \"uma\", \"password\": \"Uma-Pass-2024\"}",
]
--- more_headers
Content-Type: application/json
--- error_code eval
[400, 400, 200, 404, 200]
--- response_body_like eval
[
qr/^\{"non_field_errors": \["E-mail is not verified."\]\}$/,
qr/^\{"non_field_errors": \["E-mail is not verified."\]\}$/,
qr/^\{"detail": "ok"\}$/,
qr/^\{"detail": "Not found."\}$/,
qr/^\{"access": "eyJ[\w-]+\.[\w-]+\.[\w-]+", "refresh": "eyJ[\w-]+\.[\w-]+\.[\w-]+", "user": \{"pk": 23, "username": "uma"/,
]
--- no_error_log
[error]
fixture-verify-uma



=== TEST 5: resend: e-mail required and valid
--- request eval
[
"POST /auth/registration/resend-email/\n{}",
"POST /auth/registration/resend-email/\n{\"email\": \"\"}",
"POST /auth/registration/resend-email/\n{\"email\": \"zoe at example.com\"}",
]
--- more_headers
Content-Type: application/json
--- error_code eval
[400, 400, 400]
--- response_body eval
[
qq({"email": ["This field is required."]}),
qq({"email": ["This field may not be blank."]}),
qq({"email": ["Enter a valid email address."]}),
]



=== TEST 6: resend: an unverified address gets a new mail
--- http_config
    restauth_email_verify_url "https://app.example.com/verify/{key}";
--- request
POST /auth/registration/resend-email/
{"email": "ZOE@example.com"}
--- more_headers
Content-Type: application/json
--- error_code: 200
--- response_body chomp
{"detail": "ok"}
--- redis_before
DEL restauth:mail
--- redis_after
XLEN restauth:mail => 1
XRANGE restauth:mail - + =~ \Ato=zoe@example\.com$
XRANGE restauth:mail - + =~ ^subject=Confirm your e-mail address$
XRANGE restauth:mail - + =~ ^kind=email_verification$
XRANGE restauth:mail - + =~ ^https://app\.example\.com/verify/([\w-]{43})$.*^key=\1\z
EVAL "local n = 0 for _, k in ipairs(redis.call('KEYS', ARGV[1])) do if redis.call('HGET', k, ARGV[2]) == ARGV[3] then n = n + 1 end end return n" 0 restauth:verify:* user_id 28 => 1
--- error_log
queued email_verification mail for user 28



=== TEST 7: resend: unknown and verified addresses answer alike, without a mail; no trailing slash
--- request eval
[
"POST /auth/registration/resend-email\nemail=nobody%40example.com",
"POST /auth/registration/resend-email\nemail=alice%40example.com",
"POST /auth/registration/resend-email\nemail=uma%40example.com",
]
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code eval
[200, 200, 200]
--- response_body eval
[
qq({"detail": "ok"}),
qq({"detail": "ok"}),
qq({"detail": "ok"}),
]
--- redis_before
DEL restauth:mail
--- redis_after
XLEN restauth:mail => 0
--- no_error_log
queued email_verification
[error]



=== TEST 8: other methods are refused with 405
--- request eval
["GET /auth/registration/verify-email/", "DELETE /auth/registration/resend-email"]
--- error_code eval
[405, 405]
--- response_body eval
[
qq({"detail": "Method \\"GET\\" not allowed."}),
qq({"detail": "Method \\"DELETE\\" not allowed."}),
]
