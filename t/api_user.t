# GET/HEAD/PUT/PATCH /auth/user/ and the authentication rules every
# authenticated endpoint shares (simplejwt's 401 bodies).
use Test::Nginx::Socket 'no_plan';

no_shuffle();
run_tests();

__DATA__

=== TEST 1: the user object for a valid access token
--- http_config
    restauth_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    restauth_jwt_key HS256 $TEST_NGINX_KEY_DIR/hs256.key;
--- config
    location /auth/ { restauth_api; }
--- request
GET /auth/user/
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwiZXhwIjo0MTAyNDQ0ODAwLCJpYXQiOjE3MDAwMDAwMDAsImp0aSI6IjAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAxIiwidXNlcl9pZCI6MSwic2lkIjoiYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWEiLCJ1c2VybmFtZSI6ImFsaWNlIiwiZW1haWwiOiJhbGljZUBleGFtcGxlLmNvbSJ9.QuKrEf53Fz7GU3YFTZfxzn97xJczX9b3_SaQ-B4amvk
--- response_headers
Content-Type: application/json
--- response_body chomp
{"pk": 1, "username": "alice", "email": "alice@example.com", "first_name": "", "last_name": ""}
--- no_error_log
[error]



=== TEST 2: HEAD and the URL without trailing slash
--- http_config
    restauth_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    restauth_jwt_key HS256 $TEST_NGINX_KEY_DIR/hs256.key;
--- config
    location /auth/ { restauth_api; }
--- request eval
["HEAD /auth/user", "GET /auth/user"]
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwiZXhwIjo0MTAyNDQ0ODAwLCJpYXQiOjE3MDAwMDAwMDAsImp0aSI6IjAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAxIiwidXNlcl9pZCI6MSwic2lkIjoiYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWEiLCJ1c2VybmFtZSI6ImFsaWNlIiwiZW1haWwiOiJhbGljZUBleGFtcGxlLmNvbSJ9.QuKrEf53Fz7GU3YFTZfxzn97xJczX9b3_SaQ-B4amvk
--- error_code eval
[200, 200]
--- response_body eval
["", qq({"pk": 1, "username": "alice", "email": "alice\@example.com", "first_name": "", "last_name": ""})]



=== TEST 3: no credentials
--- http_config
    restauth_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    restauth_jwt_key HS256 $TEST_NGINX_KEY_DIR/hs256.key;
--- config
    location /auth/ { restauth_api; }
--- request
GET /auth/user/
--- error_code: 401
--- response_headers
WWW-Authenticate: Bearer realm="api"
Content-Type: application/json
--- response_body chomp
{"detail": "Authentication credentials were not provided."}



=== TEST 4: a header of another scheme counts as no credentials
--- http_config
    restauth_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    restauth_jwt_key HS256 $TEST_NGINX_KEY_DIR/hs256.key;
--- config
    location /auth/ { restauth_api; }
--- request
GET /auth/user/
--- more_headers
Authorization: Basic YWxpY2U6eA==
--- error_code: 401
--- response_body chomp
{"detail": "Authentication credentials were not provided."}



=== TEST 5: Bearer with no or several values
--- http_config
    restauth_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    restauth_jwt_key HS256 $TEST_NGINX_KEY_DIR/hs256.key;
--- config
    location /auth/ { restauth_api; }
--- request eval
["GET /auth/user/", "GET /auth/user/"]
--- more_headers eval
["Authorization: Bearer", "Authorization: Bearer a b"]
--- error_code eval
[401, 401]
--- response_body eval
[
qq({"detail": "Authorization header must contain two space-delimited values", "code": "bad_authorization_header"}),
qq({"detail": "Authorization header must contain two space-delimited values", "code": "bad_authorization_header"}),
]



=== TEST 6: expired, wrong key, alg none, tampered and garbage tokens
--- http_config
    restauth_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    restauth_jwt_key HS256 $TEST_NGINX_KEY_DIR/hs256.key;
--- config
    location /auth/ { restauth_api; }
--- log_level: info
--- request eval
["GET /auth/user/", "GET /auth/user/", "GET /auth/user/", "GET /auth/user/", "GET /auth/user/"]
--- more_headers eval
[
"Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwiZXhwIjoxMDAwMDAwMDAwLCJpYXQiOjE3MDAwMDAwMDAsImp0aSI6IjAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAxIiwidXNlcl9pZCI6MSwic2lkIjoiYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWEiLCJ1c2VybmFtZSI6ImFsaWNlIiwiZW1haWwiOiJhbGljZUBleGFtcGxlLmNvbSJ9.slv2H9JV6OSt3L4hTXwqU15ZRqsPCuKuskGv59yZLhI",
"Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwiZXhwIjo0MTAyNDQ0ODAwLCJpYXQiOjE3MDAwMDAwMDAsImp0aSI6IjAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAxIiwidXNlcl9pZCI6MSwic2lkIjoiYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWEiLCJ1c2VybmFtZSI6ImFsaWNlIiwiZW1haWwiOiJhbGljZUBleGFtcGxlLmNvbSJ9.BJbF1khsSa86JeHbeGH6nQ2RzWruAhRUcT-keHgjvE8",
"Authorization: Bearer eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwiZXhwIjo0MTAyNDQ0ODAwLCJpYXQiOjE3MDAwMDAwMDAsImp0aSI6IjAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAxIiwidXNlcl9pZCI6MSwic2lkIjoiYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWEiLCJ1c2VybmFtZSI6ImFsaWNlIiwiZW1haWwiOiJhbGljZUBleGFtcGxlLmNvbSJ9.",
"Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwiZXhwIjo0MTAyNDQ0ODAwLCJpYXQiOjE3MDAwMDAwMDAsImp0aSI6IjAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAxIiwidXNlcl9pZCI6Miwic2lkIjoiYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWEiLCJ1c2VybmFtZSI6ImFsaWNlIiwiZW1haWwiOiJhbGljZUBleGFtcGxlLmNvbSJ9.QuKrEf53Fz7GU3YFTZfxzn97xJczX9b3_SaQ-B4amvk",
"Authorization: Bearer not.a.token",
]
--- error_code eval
[401, 401, 401, 401, 401]
--- response_body eval
[
qq({"detail": "Given token not valid for any token type", "code": "token_not_valid", "messages": [{"token_class": "AccessToken", "token_type": "access", "message": "Token is invalid or expired"}]}),
qq({"detail": "Given token not valid for any token type", "code": "token_not_valid", "messages": [{"token_class": "AccessToken", "token_type": "access", "message": "Token is invalid or expired"}]}),
qq({"detail": "Given token not valid for any token type", "code": "token_not_valid", "messages": [{"token_class": "AccessToken", "token_type": "access", "message": "Token is invalid or expired"}]}),
qq({"detail": "Given token not valid for any token type", "code": "token_not_valid", "messages": [{"token_class": "AccessToken", "token_type": "access", "message": "Token is invalid or expired"}]}),
qq({"detail": "Given token not valid for any token type", "code": "token_not_valid", "messages": [{"token_class": "AccessToken", "token_type": "access", "message": "Token is invalid or expired"}]}),
]
--- error_log eval
[qr/token rejected: (expired|bad_signature|alg_none|bad_base64|malformed)/]
--- no_error_log eval
[qr/eyJ/]



=== TEST 7: a refresh token is the wrong type
--- http_config
    restauth_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    restauth_jwt_key HS256 $TEST_NGINX_KEY_DIR/hs256.key;
--- config
    location /auth/ { restauth_api; }
--- request
GET /auth/user/
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoicmVmcmVzaCIsImV4cCI6NDEwMjQ0NDgwMCwiaWF0IjoxNzAwMDAwMDAwLCJqdGkiOiJhMWExYTFhMWExYTFhMWExYTFhMWExYTFhMWExYTFhMSIsInVzZXJfaWQiOjEsInNpZCI6ImFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhIn0.lW0vPm4iZUJ2KFGt4pTJkHrOJeWXNEzmoXaQ7xoQYyA
--- error_code: 401
--- response_body chomp
{"detail": "Given token not valid for any token type", "code": "token_not_valid", "messages": [{"token_class": "AccessToken", "token_type": "access", "message": "Token has wrong type"}]}



=== TEST 8: inactive and deleted users
--- http_config
    restauth_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    restauth_jwt_key HS256 $TEST_NGINX_KEY_DIR/hs256.key;
--- config
    location /auth/ { restauth_api; }
--- request eval
["GET /auth/user/", "GET /auth/user/"]
--- more_headers eval
["Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwiZXhwIjo0MTAyNDQ0ODAwLCJpYXQiOjE3MDAwMDAwMDAsImp0aSI6IjAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAzIiwidXNlcl9pZCI6Mywic2lkIjoiY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2MiLCJ1c2VybmFtZSI6ImNhcm9sIiwiZW1haWwiOiJjYXJvbEBleGFtcGxlLmNvbSJ9.FSAGKo2PrSHNFTQCzKZPUo51VeQnJRBuNvMMgKoxsXg", "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwiZXhwIjo0MTAyNDQ0ODAwLCJpYXQiOjE3MDAwMDAwMDAsImp0aSI6IjAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDYzIiwidXNlcl9pZCI6OTksInNpZCI6IjAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwIiwidXNlcm5hbWUiOiJnaG9zdCIsImVtYWlsIjoiZ2hvc3RAZXhhbXBsZS5jb20ifQ.eVesSJ6huJCjyuJQCvR9qc39IZeNrVpkASbjGa5N69o"]
--- error_code eval
[401, 401]
--- response_body eval
[
qq({"detail": "User is inactive", "code": "user_inactive"}),
qq({"detail": "User not found", "code": "user_not_found"}),
]



=== TEST 9: wrong method: 401 first, then 405 with Allow
--- http_config
    restauth_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    restauth_jwt_key HS256 $TEST_NGINX_KEY_DIR/hs256.key;
--- config
    location /auth/ { restauth_api; }
--- request eval
["DELETE /auth/user/", "DELETE /auth/user/"]
--- more_headers eval
["", "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwiZXhwIjo0MTAyNDQ0ODAwLCJpYXQiOjE3MDAwMDAwMDAsImp0aSI6IjAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAxIiwidXNlcl9pZCI6MSwic2lkIjoiYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWEiLCJ1c2VybmFtZSI6ImFsaWNlIiwiZW1haWwiOiJhbGljZUBleGFtcGxlLmNvbSJ9.QuKrEf53Fz7GU3YFTZfxzn97xJczX9b3_SaQ-B4amvk"]
--- error_code eval
[401, 405]
--- response_body eval
[
qq({"detail": "Authentication credentials were not provided."}),
qq({"detail": "Method \\"DELETE\\" not allowed."}),
]



=== TEST 10: PATCH names, PUT needs a username, own username accepted
--- http_config
    restauth_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    restauth_jwt_key HS256 $TEST_NGINX_KEY_DIR/hs256.key;
--- config
    location /auth/ { restauth_api; }
--- request eval
[
"PATCH /auth/user/\n{\"first_name\": \"Bob\", \"last_name\": \"Builder\", \"pk\": 7, \"email\": \"evil\@example.com\"}",
"PUT /auth/user/\n{\"first_name\": \"Bob\"}",
"PUT /auth/user\n{\"username\": \"bob\", \"first_name\": \"Robert\"}",
"GET /auth/user/",
]
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwiZXhwIjo0MTAyNDQ0ODAwLCJpYXQiOjE3MDAwMDAwMDAsImp0aSI6IjAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAyIiwidXNlcl9pZCI6Miwic2lkIjoiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmIiLCJ1c2VybmFtZSI6ImJvYiIsImVtYWlsIjoiYm9iQGV4YW1wbGUuY29tIn0.PU_fNJIcTSAd3H_JEYPdUMOn6iM8-dmeSzQP7yKJzqE
Content-Type: application/json
--- error_code eval
[200, 400, 200, 200]
--- response_body eval
[
qq({"pk": 2, "username": "bob", "email": "bob\@example.com", "first_name": "Bob", "last_name": "Builder"}),
qq({"username": ["This field is required."]}),
qq({"pk": 2, "username": "bob", "email": "bob\@example.com", "first_name": "Robert", "last_name": "Builder"}),
qq({"pk": 2, "username": "bob", "email": "bob\@example.com", "first_name": "Robert", "last_name": "Builder"}),
]



=== TEST 11: username rules and uniqueness (any letter case)
--- http_config
    restauth_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    restauth_jwt_key HS256 $TEST_NGINX_KEY_DIR/hs256.key;
--- config
    location /auth/ { restauth_api; }
--- request eval
[
"PATCH /auth/user/\n{\"username\": \"ALICE\"}",
"PATCH /auth/user/\n{\"username\": \"bad name!\"}",
"PATCH /auth/user/\n{\"username\": \"" . ("x" x 151) . "\"}",
"PATCH /auth/user/\n{\"username\": \"\"}",
]
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwiZXhwIjo0MTAyNDQ0ODAwLCJpYXQiOjE3MDAwMDAwMDAsImp0aSI6IjAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAyIiwidXNlcl9pZCI6Miwic2lkIjoiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmIiLCJ1c2VybmFtZSI6ImJvYiIsImVtYWlsIjoiYm9iQGV4YW1wbGUuY29tIn0.PU_fNJIcTSAd3H_JEYPdUMOn6iM8-dmeSzQP7yKJzqE
Content-Type: application/json
--- error_code eval
[400, 400, 400, 400]
--- response_body eval
[
qq({"username": ["A user with that username already exists."]}),
qq({"username": ["Enter a valid username. This value may contain only letters, numbers, and \@/./+/-/_ characters."]}),
qq({"username": ["Ensure this field has no more than 150 characters."]}),
qq({"username": ["This field may not be blank."]}),
]



=== TEST 12: the access cookie authenticates when configured; the header wins
--- http_config
    restauth_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    restauth_jwt_key HS256 $TEST_NGINX_KEY_DIR/hs256.key;
    restauth_cookie_access access_token;
--- config
    location /auth/ { restauth_api; }
--- request eval
["GET /auth/user/", "GET /auth/user/"]
--- more_headers eval
[
"Cookie: theme=dark; access_token=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwiZXhwIjo0MTAyNDQ0ODAwLCJpYXQiOjE3MDAwMDAwMDAsImp0aSI6IjAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAxIiwidXNlcl9pZCI6MSwic2lkIjoiYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWEiLCJ1c2VybmFtZSI6ImFsaWNlIiwiZW1haWwiOiJhbGljZUBleGFtcGxlLmNvbSJ9.QuKrEf53Fz7GU3YFTZfxzn97xJczX9b3_SaQ-B4amvk",
"Cookie: access_token=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwiZXhwIjo0MTAyNDQ0ODAwLCJpYXQiOjE3MDAwMDAwMDAsImp0aSI6IjAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAxIiwidXNlcl9pZCI6MSwic2lkIjoiYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWEiLCJ1c2VybmFtZSI6ImFsaWNlIiwiZW1haWwiOiJhbGljZUBleGFtcGxlLmNvbSJ9.QuKrEf53Fz7GU3YFTZfxzn97xJczX9b3_SaQ-B4amvk\nAuthorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwiZXhwIjo0MTAyNDQ0ODAwLCJpYXQiOjE3MDAwMDAwMDAsImp0aSI6IjAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAyIiwidXNlcl9pZCI6Miwic2lkIjoiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmIiLCJ1c2VybmFtZSI6ImJvYiIsImVtYWlsIjoiYm9iQGV4YW1wbGUuY29tIn0.PU_fNJIcTSAd3H_JEYPdUMOn6iM8-dmeSzQP7yKJzqE",
]
--- response_body_like eval
[qr/"username": "alice"/, qr/"username": "bob"/]



=== TEST 13: cookie-authenticated unsafe requests need the CSRF token
--- http_config
    restauth_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    restauth_jwt_key HS256 $TEST_NGINX_KEY_DIR/hs256.key;
    restauth_cookie_access access_token;
--- config
    location /auth/ { restauth_api; }
--- request eval
[
"PATCH /auth/user/\n{\"last_name\": \"Liddell\"}",
"PATCH /auth/user/\n{\"last_name\": \"Liddell\"}",
"PATCH /auth/user/\n{\"last_name\": \"Liddell\"}",
"PATCH /auth/user/\n{\"last_name\": \"Liddell\"}",
]
--- more_headers eval
[
"Content-Type: application/json\nCookie: access_token=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwiZXhwIjo0MTAyNDQ0ODAwLCJpYXQiOjE3MDAwMDAwMDAsImp0aSI6IjAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDBhIiwidXNlcl9pZCI6MTAsInNpZCI6Ijc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3IiwidXNlcm5hbWUiOiJqdWR5IiwiZW1haWwiOiJqdWR5QGV4YW1wbGUuY29tIn0.4GcbEevYsUAR0uheymA6R2EoKt9wcgYwjGR73T1YqN0",
"Content-Type: application/json\nCookie: csrftoken=abc123abc123; access_token=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwiZXhwIjo0MTAyNDQ0ODAwLCJpYXQiOjE3MDAwMDAwMDAsImp0aSI6IjAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDBhIiwidXNlcl9pZCI6MTAsInNpZCI6Ijc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3IiwidXNlcm5hbWUiOiJqdWR5IiwiZW1haWwiOiJqdWR5QGV4YW1wbGUuY29tIn0.4GcbEevYsUAR0uheymA6R2EoKt9wcgYwjGR73T1YqN0\nX-CSRFToken: wrong",
"Content-Type: application/json\nCookie: csrftoken=abc123abc123; access_token=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwiZXhwIjo0MTAyNDQ0ODAwLCJpYXQiOjE3MDAwMDAwMDAsImp0aSI6IjAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDBhIiwidXNlcl9pZCI6MTAsInNpZCI6Ijc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3IiwidXNlcm5hbWUiOiJqdWR5IiwiZW1haWwiOiJqdWR5QGV4YW1wbGUuY29tIn0.4GcbEevYsUAR0uheymA6R2EoKt9wcgYwjGR73T1YqN0\nX-CSRFToken: abc123abc123",
"Content-Type: application/json\nAuthorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwiZXhwIjo0MTAyNDQ0ODAwLCJpYXQiOjE3MDAwMDAwMDAsImp0aSI6IjAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDBhIiwidXNlcl9pZCI6MTAsInNpZCI6Ijc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3IiwidXNlcm5hbWUiOiJqdWR5IiwiZW1haWwiOiJqdWR5QGV4YW1wbGUuY29tIn0.4GcbEevYsUAR0uheymA6R2EoKt9wcgYwjGR73T1YqN0",
]
--- error_code eval
[403, 403, 200, 200]
--- response_body_like eval
[
qr/^\{"detail": "CSRF Failed: CSRF token missing."\}$/,
qr/^\{"detail": "CSRF Failed: CSRF token incorrect."\}$/,
qr/"last_name": "Liddell"/,
qr/"last_name": "Liddell"/,
]



=== TEST 14: restauth_csrf off disables the check
--- http_config
    restauth_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    restauth_jwt_key HS256 $TEST_NGINX_KEY_DIR/hs256.key;
    restauth_cookie_access access_token;
    restauth_csrf off;
--- config
    location /auth/ { restauth_api; }
--- request
PATCH /auth/user/
{"last_name": "Smith"}
--- more_headers
Content-Type: application/json
Cookie: access_token=eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwiZXhwIjo0MTAyNDQ0ODAwLCJpYXQiOjE3MDAwMDAwMDAsImp0aSI6IjAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDBhIiwidXNlcl9pZCI6MTAsInNpZCI6Ijc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3Nzc3IiwidXNlcm5hbWUiOiJqdWR5IiwiZW1haWwiOiJqdWR5QGV4YW1wbGUuY29tIn0.4GcbEevYsUAR0uheymA6R2EoKt9wcgYwjGR73T1YqN0
--- response_body_like: "last_name": "Smith"
