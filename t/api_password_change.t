# POST /auth/password/change/ (user erin, id 5).
use Test::Nginx::Socket 'no_plan';
use lib 't';
use RestauthTest;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: authentication comes first
--- request eval
["POST /auth/password/change/\n{}", "GET /auth/password/change/"]
--- more_headers eval
["Content-Type: application/json", "Authorization: Bearer $::T{ERIN_ACCESS}"]
--- error_code eval
[401, 405]
--- response_body eval
[
qq({"detail": "Authentication credentials were not provided."}),
qq({"detail": "Method \\"GET\\" not allowed."}),
]



=== TEST 2: required fields, mismatch, validators
--- request eval
[
"POST /auth/password/change/\n{}",
"POST /auth/password/change/\n{\"new_password1\": \"Brand-New-Pass-1\", \"new_password2\": \"Brand-New-Pass-2\"}",
"POST /auth/password/change/\n{\"new_password1\": \"1234\", \"new_password2\": \"1234\"}",
"POST /auth/password/change/\n{\"new_password1\": \"example.com1\", \"new_password2\": \"example.com1\"}",
]
--- more_headers eval
"Authorization: Bearer $::T{ERIN_ACCESS}
Content-Type: application/json"
--- error_code eval
[400, 400, 400, 400]
--- response_body eval
[
qq({"new_password1": ["This field is required."], "new_password2": ["This field is required."]}),
qq({"new_password2": ["The two password fields didn\xe2\x80\x99t match."]}),
qq({"new_password2": ["This password is too short. It must contain at least 8 characters.", "This password is too common.", "This password is entirely numeric."]}),
qq({"new_password2": ["The password is too similar to the email address."]}),
]



=== TEST 3: old password required when enabled
--- http_config
    restauth_password_iterations 1000;
--- config
    location /auth/ {
        restauth_api;
        restauth_password_change_old_password on;
    }
--- request eval
[
"POST /auth/password/change/\n{\"new_password1\": \"Brand-New-Pass-1\", \"new_password2\": \"Brand-New-Pass-1\"}",
"POST /auth/password/change/\n{\"old_password\": \"wrong\", \"new_password1\": \"Brand-New-Pass-1\", \"new_password2\": \"Brand-New-Pass-1\"}",
]
--- more_headers eval
"Authorization: Bearer $::T{ERIN_ACCESS}
Content-Type: application/json"
--- error_code eval
[400, 400]
--- response_body eval
[
qq({"old_password": ["This field is required."]}),
qq({"old_password": ["Your old password was entered incorrectly. Please enter it again."]}),
]



=== TEST 4: the new password is saved, the old one stops working; the other sessions are revoked, the current one stays
Erin's second session (e2) is alive before the change; afterwards its refresh
token is refused, its access token stops at restauth_check_session, and
the session of the token that made the change still works.
--- http_config
    restauth_password_iterations 1000;
    server {
        listen 127.0.0.1:19085;
        location / { return 200 "uid=$http_x_auth_user_id\n"; }
    }
--- config
    location /auth/ { restauth_api; }
    location /app/ {
        restauth_protect on;
        restauth_check_session on;
        proxy_pass http://127.0.0.1:19085;
    }
--- request eval
[
"POST /auth/token/verify/\n{\"token\": \"$::T{ERIN_REFRESH_2}\"}",
"GET /app/page",
"POST /auth/password/change/\n{\"new_password1\": \"Erin-New-Pass-2025\", \"new_password2\": \"Erin-New-Pass-2025\"}",
"POST /auth/token/refresh/\n{\"refresh\": \"$::T{ERIN_REFRESH_2}\"}",
"GET /app/page",
"POST /auth/token/verify/\n{\"token\": \"$::T{ERIN_REFRESH}\"}",
"GET /app/page",
"POST /auth/login/\n{\"username\": \"erin\", \"password\": \"Erin-Pass-2024\"}",
"POST /auth/login/\n{\"username\": \"erin\", \"password\": \"Erin-New-Pass-2025\"}",
]
--- more_headers eval
[
"Content-Type: application/json",
"Authorization: Bearer $::T{ERIN_ACCESS_2}",
"Authorization: Bearer $::T{ERIN_ACCESS}\nContent-Type: application/json",
"Content-Type: application/json",
"Authorization: Bearer $::T{ERIN_ACCESS_2}",
"Content-Type: application/json",
"Authorization: Bearer $::T{ERIN_ACCESS}",
"Content-Type: application/json",
"Content-Type: application/json",
]
--- error_code eval
[200, 200, 200, 401, 401, 200, 200, 400, 200]
--- response_body_like eval
[
qr/^\{\}$/,
qr/^uid=5$/,
qr/^\{"detail": "New password has been saved."\}$/,
qr/^\{"detail": "Token is blacklisted", "code": "token_not_valid"\}$/,
qr/"code": "token_not_valid"/,
qr/^\{\}$/,
qr/^uid=5$/,
qr/^\{"non_field_errors": \["Unable to log in with provided credentials."\]\}$/,
qr/"user": \{"pk": 5, "username": "erin"/,
]
--- redis_after
ZSCORE restauth:user:5:sessions e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2 => (nil)
EXISTS restauth:session:e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2e2 => 0
EXISTS restauth:session:eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee => 1
HGET restauth:user:5 password =~ \Apbkdf2_sha256\$1000\$
--- no_error_log
[error]
Erin-New-Pass-2025



=== TEST 5: restauth_logout_on_password_change off keeps the other sessions
--- http_config
    restauth_password_iterations 1000;
    restauth_logout_on_password_change off;
    server {
        listen 127.0.0.1:19085;
        location / { return 200 "uid=$http_x_auth_user_id\n"; }
    }
--- config
    location /auth/ { restauth_api; }
    location /app/ {
        restauth_protect on;
        restauth_check_session on;
        proxy_pass http://127.0.0.1:19085;
    }
--- request eval
[
"POST /auth/password/change/\n{\"new_password1\": \"Grace-New-Pass-2025\", \"new_password2\": \"Grace-New-Pass-2025\"}",
"GET /app/page",
"POST /auth/token/refresh/\n{\"refresh\": \"$::T{GRACE_REFRESH_2}\"}",
"POST /auth/login/\n{\"username\": \"grace\", \"password\": \"Grace-New-Pass-2025\"}",
]
--- more_headers eval
[
"Authorization: Bearer $::T{GRACE_ACCESS}\nContent-Type: application/json",
"Authorization: Bearer $::T{GRACE_ACCESS_2}",
"Content-Type: application/json",
"Content-Type: application/json",
]
--- error_code eval
[200, 200, 200, 200]
--- response_body_like eval
[
qr/^\{"detail": "New password has been saved."\}$/,
qr/^uid=7$/,
qr/^\{"access": "eyJ[\w-]+\.[\w-]+\.[\w-]+", "refresh": "eyJ/,
qr/"user": \{"pk": 7, "username": "grace"/,
]
--- redis_after
ZSCORE restauth:user:7:sessions 18181818181818181818181818181818 => 1700000000
ZSCORE restauth:user:7:sessions 17171717171717171717171717171717 => 1700000000
