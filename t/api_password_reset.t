# POST /auth/password/reset/ and /auth/password/reset/confirm/.
# Reset tokens of t/fixtures/selfservice.redis (made by
# t/fixtures/make-selfservice-fixtures): users 20-28, raw tokens
# "fixture-reset-<name>".  uid is Django's urlsafe_base64_encode of the pk:
# 20 -> MjA, 21 -> MjE, 22 -> MjI, 26 -> MjY.  A full request -> mail ->
# confirm round trip is in tests/integration/registration_race.sh.
use Test::Nginx::Socket 'no_plan';
use lib 't';
use RestauthTest;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a known address gets a mail; the answer is always the same
--- http_config
    restauth_password_iterations 1000;
--- request
POST /auth/password/reset/
{"email": "Alice@EXAMPLE.com"}
--- more_headers
Content-Type: application/json
--- error_code: 200
--- response_headers
Content-Type: application/json
--- response_body chomp
{"detail": "Password reset e-mail has been sent."}
--- redis_before
DEL restauth:mail
--- redis_after
XLEN restauth:mail => 1
XRANGE restauth:mail - + =~ \Ato=alice@example\.com$
XRANGE restauth:mail - + =~ ^subject=Password reset$
XRANGE restauth:mail - + =~ ^kind=password_reset$
XRANGE restauth:mail - + =~ ^uid=MQ$
XRANGE restauth:mail - + =~ ^uid: MQ\ntoken: ([\w-]{43})\n.*^token=\1\z
EVAL "local n = 0 for _, k in ipairs(redis.call('KEYS', ARGV[1])) do if redis.call('HGET', k, 'user_id') == ARGV[2] then n = n + 1 end end return n" 0 restauth:reset:* 1 => 1



=== TEST 2: unknown, inactive and unusable-password addresses answer alike, without a mail
--- http_config
    restauth_password_iterations 1000;
--- request eval
[
"POST /auth/password/reset/\n{\"email\": \"nobody\@example.com\"}",
"POST /auth/password/reset/\n{\"email\": \"walt\@example.com\"}",
"POST /auth/password/reset/\n{\"email\": \"yuri\@example.com\"}",
]
--- more_headers
Content-Type: application/json
--- error_code eval
[200, 200, 200]
--- response_body eval
[
qq({"detail": "Password reset e-mail has been sent."}),
qq({"detail": "Password reset e-mail has been sent."}),
qq({"detail": "Password reset e-mail has been sent."}),
]
--- redis_before
DEL restauth:mail
--- redis_after
XLEN restauth:mail => 0
--- no_error_log
queued password_reset
[error]



=== TEST 3: without the trailing slash, form-encoded
--- http_config
    restauth_password_iterations 1000;
    restauth_password_reset_url "https://app.example.com/reset/{uid}/{token}";
--- request
POST /auth/password/reset
email=bob%40example.com
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 200
--- response_body chomp
{"detail": "Password reset e-mail has been sent."}
--- redis_before
DEL restauth:mail
--- redis_after
XLEN restauth:mail => 1
XRANGE restauth:mail - + =~ \Ato=bob@example\.com$
XRANGE restauth:mail - + =~ ^kind=password_reset$
XRANGE restauth:mail - + =~ ^uid=Mg$
XRANGE restauth:mail - + =~ ^https://app\.example\.com/reset/Mg/([\w-]{43})$.*^token=\1\z



=== TEST 4: e-mail required, not blank, valid
--- request eval
[
"POST /auth/password/reset/\n{}",
"POST /auth/password/reset/\n{\"email\": \"\"}",
"POST /auth/password/reset/\n{\"email\": \"not-an-address\"}",
"POST /auth/password/reset/\n{\"email\": null}",
]
--- more_headers
Content-Type: application/json
--- error_code eval
[400, 400, 400, 400]
--- response_body eval
[
qq({"email": ["This field is required."]}),
qq({"email": ["This field may not be blank."]}),
qq({"email": ["Enter a valid email address."]}),
qq({"email": ["This field may not be null."]}),
]



=== TEST 5: confirm: every missing field at once, in the serializer's order
--- request eval
[
"POST /auth/password/reset/confirm/\n{}",
"POST /auth/password/reset/confirm/\n{\"uid\": \"\", \"token\": \"x\", \"new_password1\": \"x\"}",
]
--- more_headers
Content-Type: application/json
--- error_code eval
[400, 400]
--- response_body eval
[
qq({"new_password1": ["This field is required."], "new_password2": ["This field is required."], "uid": ["This field is required."], "token": ["This field is required."]}),
qq({"new_password2": ["This field is required."], "uid": ["This field may not be blank."]}),
]



=== TEST 6: confirm: a uid that is not an existing user comes before anything else
--- request eval
[
"POST /auth/password/reset/confirm/\n{\"uid\": \"!!\", \"token\": \"fixture-reset-tina\", \"new_password1\": \"a\", \"new_password2\": \"b\"}",
"POST /auth/password/reset/confirm/\n{\"uid\": \"OTk5\", \"token\": \"fixture-reset-tina\", \"new_password1\": \"a\", \"new_password2\": \"b\"}",
"POST /auth/password/reset/confirm/\n{\"uid\": \"MA\", \"token\": \"fixture-reset-tina\", \"new_password1\": \"a\", \"new_password2\": \"b\"}",
"POST /auth/password/reset/confirm/\n{\"uid\": \"YWJj\", \"token\": \"fixture-reset-tina\", \"new_password1\": \"a\", \"new_password2\": \"b\"}",
]
--- more_headers
Content-Type: application/json
--- error_code eval
[400, 400, 400, 400]
--- response_body eval
[
qq({"uid": ["Invalid value"]}),
qq({"uid": ["Invalid value"]}),
qq({"uid": ["Invalid value"]}),
qq({"uid": ["Invalid value"]}),
]



=== TEST 7: confirm: unknown, expired, someone else's, and stale (password changed since) tokens
--- request eval
[
"POST /auth/password/reset/confirm/\n{\"uid\": \"MjI\", \"token\": \"no-such-token\", \"new_password1\": \"a\", \"new_password2\": \"b\"}",
"POST /auth/password/reset/confirm/\n{\"uid\": \"MjI\", \"token\": \"fixture-reset-tina-expired\", \"new_password1\": \"a\", \"new_password2\": \"b\"}",
"POST /auth/password/reset/confirm/\n{\"uid\": \"MjI\", \"token\": \"fixture-reset-sam\", \"new_password1\": \"a\", \"new_password2\": \"b\"}",
"POST /auth/password/reset/confirm/\n{\"uid\": \"MjE\", \"token\": \"fixture-reset-sam-stale\", \"new_password1\": \"a\", \"new_password2\": \"b\"}",
]
--- more_headers
Content-Type: application/json
--- error_code eval
[400, 400, 400, 400]
--- response_body eval
[
qq({"token": ["Invalid value"]}),
qq({"token": ["Invalid value"]}),
qq({"token": ["Invalid value"]}),
qq({"token": ["Invalid value"]}),
]



=== TEST 8: confirm: mismatch (U+2019) and validators with the user's attributes, under new_password2
--- http_config
    restauth_password_iterations 1000;
--- request eval
[
"POST /auth/password/reset/confirm/\n{\"uid\": \"MjI\", \"token\": \"fixture-reset-tina\", \"new_password1\": \"Tina-New-2024\", \"new_password2\": \"Tina-New-2025\"}",
"POST /auth/password/reset/confirm/\n{\"uid\": \"MjI\", \"token\": \"fixture-reset-tina\", \"new_password1\": \"xk3\", \"new_password2\": \"xk3\"}",
"POST /auth/password/reset/confirm/\n{\"uid\": \"MjI\", \"token\": \"fixture-reset-tina\", \"new_password1\": \"tina\@example\", \"new_password2\": \"tina\@example\"}",
"POST /auth/password/reset/confirm/\n{\"uid\": \"MjI\", \"token\": \"fixture-reset-tina\", \"new_password1\": \"" . ("p" x 129) . "\", \"new_password2\": \"x\"}",
]
--- more_headers
Content-Type: application/json
--- error_code eval
[400, 400, 400, 400]
--- response_body eval
[
qq({"new_password2": ["The two password fields didn\xe2\x80\x99t match."]}),
qq({"new_password2": ["This password is too short. It must contain at least 8 characters."]}),
qq({"new_password2": ["The password is too similar to the email address."]}),
qq({"new_password1": ["Ensure this field has no more than 128 characters."]}),
]
--- no_error_log
[error]
password reset for user



=== TEST 9: confirm: the password is reset, the token works once, the new password logs in
--- http_config
    restauth_password_iterations 1000;
--- request eval
[
"POST /auth/password/reset/confirm/\n{\"uid\": \"MjA\", \"token\": \"fixture-reset-rita\", \"new_password1\": \"Rita-New-Pass-2025\", \"new_password2\": \"Rita-New-Pass-2025\"}",
"POST /auth/password/reset/confirm\n{\"uid\": \"MjA\", \"token\": \"fixture-reset-rita\", \"new_password1\": \"Rita-Other-Pass-2025\", \"new_password2\": \"Rita-Other-Pass-2025\"}",
"POST /auth/login/\n{\"username\": \"rita\", \"password\": \"Rita-Pass-2024\"}",
"POST /auth/login/\n{\"username\": \"rita\", \"password\": \"Rita-New-Pass-2025\"}",
]
--- more_headers
Content-Type: application/json
--- error_code eval
[200, 400, 400, 200]
--- response_body_like eval
[
qr/^\{"detail": "Password has been reset with the new password."\}$/,
qr/^\{"token": \["Invalid value"\]\}$/,
qr/^\{"non_field_errors": \["Unable to log in with provided credentials."\]\}$/,
qr/"user": \{"pk": 20, "username": "rita"/,
]
--- no_error_log
[error]
Rita-New-Pass-2025



=== TEST 10: a reset revokes every session of the user: their refresh tokens are blacklisted and refused
--- http_config
    restauth_password_iterations 1000;
--- request eval
[
"POST /auth/token/verify/\n{\"token\": \"$::T{XENA_REFRESH_26}\"}",
"POST /auth/password/reset/confirm/\n{\"uid\": \"MjY\", \"token\": \"fixture-reset-xena\", \"new_password1\": \"Xena-New-Pass-2025\", \"new_password2\": \"Xena-New-Pass-2025\"}",
"POST /auth/token/verify/\n{\"token\": \"$::T{XENA_REFRESH_26}\"}",
"POST /auth/token/verify/\n{\"token\": \"$::T{XENA_REFRESH_27}\"}",
"POST /auth/token/refresh/\n{\"refresh\": \"$::T{XENA_REFRESH_27}\"}",
]
--- more_headers
Content-Type: application/json
--- error_code eval
[200, 200, 400, 400, 401]
--- response_body eval
[
"{}",
qq({"detail": "Password has been reset with the new password."}),
qq({"non_field_errors": ["Token is blacklisted"]}),
qq({"non_field_errors": ["Token is blacklisted"]}),
qq({"detail": "Token is blacklisted", "code": "token_not_valid"}),
]
--- redis_after
SCARD restauth:user:26:sessions => 0
EXISTS restauth:session:26262626262626262626262626262626 restauth:session:27272727272727272727272727272727 => 0



=== TEST 11: other methods are refused with 405
--- request eval
["GET /auth/password/reset/", "PUT /auth/password/reset/confirm"]
--- error_code eval
[405, 405]
--- response_body eval
[
qq({"detail": "Method \\"GET\\" not allowed."}),
qq({"detail": "Method \\"PUT\\" not allowed."}),
]
