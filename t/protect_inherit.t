# Lists set by repeatable directives (restauth_claim_header, restauth_require)
# merge the nginx way: a level that gives the directive replaces the list
# above it, and "off" empties an inherited list.
use Test::Nginx::Socket 'no_plan';
use lib 't';
use RestauthTest;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: server-level restauth_require is inherited; "off" clears it
--- http_config
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
--- more_headers eval
"Authorization: Bearer $::T{ALICE_ACCESS}"
--- error_code eval
[403, 200, 200]
--- no_error_log
[error]



=== TEST 2: server-level claim headers are inherited; "off" clears them
--- http_config
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
--- more_headers eval
"Authorization: Bearer $::T{ALICE_ACCESS}"
--- response_body eval
["name=alice mail=\n", "name= mail=\n", "name= mail=alice\@example.com\n"]
--- no_error_log
[error]



=== TEST 3: "off" cannot be combined with entries on the same level
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
