# Lists set by repeatable directives (restauth_claim_header, restauth_require)
# merge the nginx way: a level that gives the directive replaces the list
# above it, and "off" empties an inherited list.
use Test::Nginx::Socket 'no_plan';

no_shuffle();
run_tests();

__DATA__

=== TEST 1: server-level restauth_require is inherited; "off" clears it
--- http_config
    restauth_jwt_key HS256 $TEST_NGINX_KEY_DIR/hs256.key;
    server {
        listen 127.0.0.1:19085;
        location / { return 200 "upstream reached\n"; }
    }
--- config
    restauth_require username bob;
    location /inherits/ {
        restauth_protect on;
        proxy_pass http://127.0.0.1:19085;
    }
    location /cleared/ {
        restauth_protect on;
        restauth_require off;
        proxy_pass http://127.0.0.1:19085;
    }
    location /replaced/ {
        restauth_protect on;
        restauth_require username alice carol;
        proxy_pass http://127.0.0.1:19085;
    }
--- request eval
["GET /inherits/x", "GET /cleared/x", "GET /replaced/x"]
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwiZXhwIjo0MTAyNDQ0ODAwLCJpYXQiOjE3MDAwMDAwMDAsImp0aSI6IjAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAxIiwidXNlcl9pZCI6MSwic2lkIjoiYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWEiLCJ1c2VybmFtZSI6ImFsaWNlIiwiZW1haWwiOiJhbGljZUBleGFtcGxlLmNvbSJ9.QuKrEf53Fz7GU3YFTZfxzn97xJczX9b3_SaQ-B4amvk
--- error_code eval
[403, 200, 200]
--- no_error_log
[error]



=== TEST 2: server-level claim headers are inherited; "off" clears them
--- http_config
    restauth_jwt_key HS256 $TEST_NGINX_KEY_DIR/hs256.key;
    server {
        listen 127.0.0.1:19085;
        location / { return 200 "name=$http_x_auth_name mail=$http_x_auth_mail\n"; }
    }
--- config
    restauth_claim_header X-Auth-Name username;
    location /inherits/ {
        restauth_protect on;
        proxy_pass http://127.0.0.1:19085;
    }
    location /cleared/ {
        restauth_protect on;
        restauth_claim_header off;
        proxy_pass http://127.0.0.1:19085;
    }
    location /replaced/ {
        restauth_protect on;
        restauth_claim_header X-Auth-Mail email;
        proxy_pass http://127.0.0.1:19085;
    }
--- request eval
["GET /inherits/x", "GET /cleared/x", "GET /replaced/x"]
--- more_headers
Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwiZXhwIjo0MTAyNDQ0ODAwLCJpYXQiOjE3MDAwMDAwMDAsImp0aSI6IjAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAxIiwidXNlcl9pZCI6MSwic2lkIjoiYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWEiLCJ1c2VybmFtZSI6ImFsaWNlIiwiZW1haWwiOiJhbGljZUBleGFtcGxlLmNvbSJ9.QuKrEf53Fz7GU3YFTZfxzn97xJczX9b3_SaQ-B4amvk
--- response_body eval
["name=alice mail=\n", "name= mail=\n", "name= mail=alice\@example.com\n"]
--- no_error_log
[error]



=== TEST 3: "off" cannot be combined with entries on the same level
--- http_config
    restauth_jwt_key HS256 $TEST_NGINX_KEY_DIR/hs256.key;
--- config
    location /app/ {
        restauth_protect on;
        restauth_require off;
        restauth_require username alice;
        return 200;
    }
--- must_die
--- error_log
"restauth_require" directive cannot be combined with "off" on the same level
