# POST /auth/registration/: allauth's RegisterSerializer through dj-rest-auth.
# Runs against t/fixtures/seed.redis; users registered here are new (ids from
# users:next_id).  Mandatory verification: t/api_verify_email.t.  The
# concurrent-registration race: tests/integration/registration_race.sh.
use Test::Nginx::Socket 'no_plan';
use lib 't';
use RestauthTest;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: registration (optional verification) answers 201 like login, and queues a verification mail
--- http_config
    restauth_password_iterations 1000;
--- request
POST /auth/registration/
{"username": "newuser1", "email": "NewUser1@Example.COM", "password1": "Newuser-Pass-2024", "password2": "Newuser-Pass-2024"}
--- more_headers
Content-Type: application/json
--- error_code: 201
--- response_headers
Content-Type: application/json
--- response_body_like: ^\{"access": "eyJ[\w-]+\.[\w-]+\.[\w-]+", "refresh": "eyJ[\w-]+\.[\w-]+\.[\w-]+", "user": \{"pk": \d+, "username": "newuser1", "email": "NewUser1@example.com", "first_name": "", "last_name": ""\}\}$
--- redis_before
DEL restauth:mail
--- redis_after
XLEN restauth:mail => 1
XRANGE restauth:mail - + =~ \Ato=NewUser1@example\.com$
XRANGE restauth:mail - + =~ ^subject=Confirm your e-mail address$
XRANGE restauth:mail - + =~ ^kind=email_verification$
XRANGE restauth:mail - + =~ ^key: ([\w-]{43})$.*^key=\1\z
EVAL "local n = 0 for _, k in ipairs(redis.call('KEYS', ARGV[1])) do if redis.call('HGET', k, ARGV[2]) == ARGV[3] then n = n + 1 end end return n" 0 restauth:verify:* email NewUser1@example.com => 1
--- error_log eval
[qr/registered user \d+/, qr/queued email_verification mail for user \d+/]
--- no_error_log
[error]
Newuser-Pass-2024



=== TEST 2: the new user logs in, by e-mail, case-insensitively
--- http_config
    restauth_password_iterations 1000;
--- request
POST /auth/login/
{"email": "newuser1@EXAMPLE.com", "password": "Newuser-Pass-2024"}
--- more_headers
Content-Type: application/json
--- error_code: 200
--- response_body_like: "user": \{"pk": \d+, "username": "newuser1", "email": "NewUser1@example.com"



=== TEST 3: without the trailing slash, form-encoded, verification off: no mail
--- http_config
    restauth_password_iterations 1000;
    restauth_email_verification none;
--- request
POST /auth/registration
username=newuser2&email=newuser2%40example.com&password1=Newuser2-Pass-2024&password2=Newuser2-Pass-2024
--- more_headers
Content-Type: application/x-www-form-urlencoded
--- error_code: 201
--- response_body_like: ^\{"access": "eyJ[\w-]+\.[\w-]+\.[\w-]+", "refresh": "eyJ[\w-]+\.[\w-]+\.[\w-]+", "user": \{"pk": \d+, "username": "newuser2", "email": "newuser2@example.com", "first_name": "", "last_name": ""\}\}$
--- redis_before
DEL restauth:mail
--- redis_after
XLEN restauth:mail => 0
HGET restauth:users:by_email newuser2@example.com =~ \A\d+\z
--- error_log eval
qr/registered user \d+/
--- no_error_log
queued email_verification
[error]



=== TEST 4: token cookies are set as at login; stale credentials are ignored
--- http_config
    restauth_password_iterations 1000;
    restauth_cookie_access rauth_access;
--- request
POST /auth/registration/
{"username": "newuser3", "email": "newuser3@example.com", "password1": "Newuser3-Pass-2024", "password2": "Newuser3-Pass-2024"}
--- more_headers
Content-Type: application/json
Authorization: Bearer not-a-valid-token
Cookie: rauth_access=expired.garbage.token
--- error_code: 201
--- response_headers_like
Set-Cookie: rauth_access=eyJ[\w-]+\.[\w-]+\.[\w-]+; expires=.+; Max-Age=300; Path=/.*
--- response_body_like: "user": \{"pk": \d+, "username": "newuser3"



=== TEST 5: required and blank fields, all at once, in the serializer's field order
--- http_config
    restauth_password_iterations 1000;
--- request eval
[
"POST /auth/registration/\n{}",
"POST /auth/registration/\n{\"username\": \"\", \"email\": \"\", \"password1\": \"\", \"password2\": \"  \"}",
"POST /auth/registration/\n{\"username\": null, \"email\": \"a\@example.com\", \"password1\": \"Some-Pass-2024\"}",
]
--- more_headers
Content-Type: application/json
--- error_code eval
[400, 400, 400]
--- response_body eval
[
qq({"username": ["This field is required."], "email": ["This field is required."], "password1": ["This field is required."], "password2": ["This field is required."]}),
qq({"username": ["This field may not be blank."], "email": ["This field may not be blank."], "password1": ["This field may not be blank."], "password2": ["This field may not be blank."]}),
qq({"username": ["This field may not be null."], "password2": ["This field is required."]}),
]



=== TEST 6: taken username and e-mail (case-insensitive) and password validators, reported together
--- http_config
    restauth_password_iterations 1000;
--- request eval
[
"POST /auth/registration/\n{\"username\": \"ALICE\", \"email\": \"Bob\@EXAMPLE.com\", \"password1\": \"Zq\", \"password2\": \"Zq\"}",
"POST /auth/registration/\n{\"username\": \"NewUser1\", \"email\": \"newuser1\@example.com\", \"password1\": \"Other-Pass-2024\", \"password2\": \"Other-Pass-2024\"}",
"POST /auth/registration/\n{\"username\": \"freshname\", \"email\": \"ALICE\@example.com\", \"password1\": \"Other-Pass-2024\", \"password2\": \"Other-Pass-2024\"}",
]
--- more_headers
Content-Type: application/json
--- error_code eval
[400, 400, 400]
--- response_body eval
[
qq({"username": ["A user with that username already exists."], "email": ["A user is already registered with this e-mail address."], "password1": ["This password is too short. It must contain at least 8 characters."]}),
qq({"username": ["A user with that username already exists."], "email": ["A user is already registered with this e-mail address."]}),
qq({"email": ["A user is already registered with this e-mail address."]}),
]
--- no_error_log
[error]
registered user



=== TEST 7: malformed username and e-mail, common and numeric password
--- http_config
    restauth_password_iterations 1000;
--- request eval
[
"POST /auth/registration/\n{\"username\": \"bad name!\", \"email\": \"not-an-email\", \"password1\": \"12345678\", \"password2\": \"12345678\"}",
"POST /auth/registration/\n{\"username\": \"" . ("u" x 151) . "\", \"email\": \"x\@example.com\", \"password1\": \"Fine-Pass-2024\", \"password2\": \"Fine-Pass-2024\"}",
]
--- more_headers
Content-Type: application/json
--- error_code eval
[400, 400]
--- response_body eval
[
qq({"username": ["Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters."], "email": ["Enter a valid email address."], "password1": ["This password is too common.", "This password is entirely numeric."]}),
qq({"username": ["Ensure this field has no more than 150 characters."]}),
]



=== TEST 8: the two passwords differ (ASCII apostrophe, unlike password change)
--- http_config
    restauth_password_iterations 1000;
--- request
POST /auth/registration/
{"username": "newuser4", "email": "newuser4@example.com", "password1": "Newuser4-Pass-2024", "password2": "Newuser4-Pass-2025"}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body chomp
{"non_field_errors": ["The two password fields didn't match."]}
--- no_error_log
[error]
registered user



=== TEST 9: a password too similar to the username or the e-mail address; nothing is written
--- http_config
    restauth_password_iterations 1000;
--- request eval
[
"POST /auth/registration/\n{\"username\": \"jonathanquill\", \"email\": \"jq\@example.com\", \"password1\": \"jonathanquill7\", \"password2\": \"jonathanquill7\"}",
"POST /auth/registration/\n{\"username\": \"pq\", \"email\": \"rosalindfranklin\@example.com\", \"password1\": \"rosalindfranklin\", \"password2\": \"rosalindfranklin\"}",
"POST /auth/login/\n{\"username\": \"jonathanquill\", \"password\": \"jonathanquill7\"}",
]
--- more_headers
Content-Type: application/json
--- error_code eval
[400, 400, 400]
--- response_body eval
[
qq({"non_field_errors": ["The password is too similar to the username."]}),
qq({"non_field_errors": ["The password is too similar to the email address."]}),
qq({"non_field_errors": ["Unable to log in with provided credentials."]}),
]
--- no_error_log
[error]
registered user



=== TEST 10: a name freed from a failed attempt registers fine afterwards
--- http_config
    restauth_password_iterations 1000;
--- request
POST /auth/registration/
{"username": "jonathanquill", "email": "jq@example.com", "password1": "Quill-Pass-2024", "password2": "Quill-Pass-2024"}
--- more_headers
Content-Type: application/json
--- error_code: 201
--- response_body_like: "user": \{"pk": \d+, "username": "jonathanquill", "email": "jq@example.com"



=== TEST 11: other methods are refused with 405
--- request
GET /auth/registration/
--- error_code: 405
--- response_headers
Allow: POST, OPTIONS
--- response_body chomp
{"detail": "Method \"GET\" not allowed."}
