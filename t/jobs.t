# restauth_jobs, restauth_job_queue, restauth_job_queue_timeout: the worker's
# job scheduler.  Several logins reach one worker in a known order through
# mirror subrequests (run first, in order) and a proxied request to the same
# server (its Redis lookup is answered after theirs, on the worker's one
# Redis connection).  The slow cost only has to outlast a loopback round
# trip; a slower machine makes the order safer, not flakier.
use Test::Nginx::Socket 'no_plan';

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a full queue answers 503 JSON with Retry-After
--- http_config
    restauth_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    restauth_jwt_key HS256 $TEST_NGINX_KEY_DIR/hs256.key;
    restauth_password_iterations 3000000;
    restauth_rate_limit login_ip off;
    restauth_rate_limit login_account off;
    restauth_jobs 1;
    restauth_job_queue_timeout 300s;   # waiting never depends on the machine's speed
    restauth_job_queue 1;
--- config
    location /auth/ { restauth_api; }
    # the first login runs, the second waits, the third finds the queue full
    location = /three-logins {
        mirror /auth/login/;
        mirror /auth/login/;
        mirror_request_body on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/auth/login/;
    }
--- request
POST /three-logins
{"username": "nobody-here", "password": "whatever-it-is"}
--- more_headers
Content-Type: application/json
--- timeout: 120
--- error_code: 503
--- response_headers_like
Retry-After: ^[1-9][0-9]*$
Content-Type: application/json
--- response_body chomp
{"detail": "Service temporarily unavailable, try again later."}
--- error_log
restauth: job refused, 1 jobs running and 1 waiting (restauth_jobs, restauth_job_queue)
restauth: CPU job refused: the server is busy
--- no_error_log
[alert]
[crit]



=== TEST 2: a job that waits longer than restauth_job_queue_timeout answers 503 with Retry-After
--- http_config
    restauth_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    restauth_jwt_key HS256 $TEST_NGINX_KEY_DIR/hs256.key;
    restauth_password_iterations 3000000;
    restauth_rate_limit login_ip off;
    restauth_rate_limit login_account off;
    restauth_jobs 1;
    restauth_job_queue_timeout 50ms;
--- config
    location /auth/ { restauth_api; }
    location = /two-logins {
        mirror /auth/login/;
        mirror_request_body on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/auth/login/;
    }
--- request
POST /two-logins
{"username": "nobody-here", "password": "whatever-it-is"}
--- more_headers
Content-Type: application/json
--- timeout: 120
--- error_code: 503
--- response_headers_like
Retry-After: ^[1-9][0-9]*$
--- response_body chomp
{"detail": "Service temporarily unavailable, try again later."}
--- error_log
restauth: job refused, it waited longer than restauth_job_queue_timeout
--- no_error_log
[alert]
[crit]



=== TEST 3: a waiting job whose client leaves is dropped and never runs
The first mirrored login runs, the second waits, and the proxied one waits
behind it until the proxy gives up.  The connection closes only when both
mirrors are done, so by then every job that was going to run has run.
--- http_config
    restauth_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    restauth_jwt_key HS256 $TEST_NGINX_KEY_DIR/hs256.key;
    restauth_password_iterations 3000000;
    restauth_rate_limit login_ip off;
    restauth_rate_limit login_account off;
    restauth_jobs 1;
    restauth_job_queue_timeout 300s;   # waiting never depends on the machine's speed
--- config
    location /auth/ { restauth_api; }
    location = /leave-while-waiting {
        mirror /auth/login/;
        mirror /auth/login/;
        mirror_request_body on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/auth/login/;
        proxy_read_timeout 100ms;
    }
--- request
POST /leave-while-waiting
{"username": "nobody-here", "password": "whatever-it-is"}
--- more_headers
Content-Type: application/json
--- timeout: 120
--- error_code: 504
--- grep_error_log: restauth job run
--- grep_error_log_out
restauth job run
restauth job run
--- error_log
client prematurely closed connection
restauth: waiting job of a finished request dropped
--- no_error_log
[alert]
[crit]



=== TEST 4: a running job whose client leaves frees the call when it ends
The proxied login hashes when the proxy gives up; error_page then sends
the same login through the queue, where it waits for the abandoned job.
--- http_config
    restauth_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    restauth_jwt_key HS256 $TEST_NGINX_KEY_DIR/hs256.key;
    restauth_password_iterations 3000000;
    restauth_rate_limit login_ip off;
    restauth_rate_limit login_account off;
    restauth_jobs 1;
    restauth_job_queue_timeout 300s;   # waiting never depends on the machine's speed
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
--- response_body chomp
{"non_field_errors": ["Unable to log in with provided credentials."]}
--- grep_error_log eval: qr/restauth job queued|restauth: job for a finished request completed/
--- grep_error_log_out
restauth job queued
restauth: job for a finished request completed
--- error_log
client prematurely closed connection
--- no_error_log
[alert]
[crit]



=== TEST 5: the queued jobs run in order and all answer
Two mirrored logins and the proxied one, with room for all: the last
waits for both others and answers like any login.
--- http_config
    restauth_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    restauth_jwt_key HS256 $TEST_NGINX_KEY_DIR/hs256.key;
    restauth_password_iterations 3000000;
    restauth_rate_limit login_ip off;
    restauth_rate_limit login_account off;
    restauth_jobs 1;
    restauth_job_queue_timeout 300s;   # waiting never depends on the machine's speed
    restauth_job_queue 2;
--- config
    location /auth/ { restauth_api; }
    location = /three-logins {
        mirror /auth/login/;
        mirror /auth/login/;
        mirror_request_body on;
        proxy_pass http://127.0.0.1:$TEST_NGINX_SERVER_PORT/auth/login/;
        proxy_read_timeout 300s;
    }
--- request
POST /three-logins
{"username": "nobody-here", "password": "whatever-it-is"}
--- more_headers
Content-Type: application/json
--- timeout: 120
--- error_code: 400
--- response_body chomp
{"non_field_errors": ["Unable to log in with provided credentials."]}
--- grep_error_log: restauth job queued
--- grep_error_log_out
restauth job queued
restauth job queued
--- no_error_log
[error]



=== TEST 6: restauth_jobs takes auto or a positive number
--- http_config
    restauth_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    restauth_jwt_key HS256 $TEST_NGINX_KEY_DIR/hs256.key;
    restauth_jobs 0;
--- config
    location /auth/ { restauth_api; }
--- must_die
--- error_log
"restauth_jobs" directive must be "auto" or a positive number



=== TEST 7: restauth_job_queue_timeout must be positive
--- http_config
    restauth_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    restauth_jwt_key HS256 $TEST_NGINX_KEY_DIR/hs256.key;
    restauth_job_queue_timeout 0;
--- config
    location /auth/ { restauth_api; }
--- must_die
--- error_log
restauth_job_queue_timeout must be positive



=== TEST 8: restauth_jobs auto and an empty queue are accepted
With no room to wait, a login still runs when a slot is free.
--- http_config
    restauth_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
    restauth_jwt_key HS256 $TEST_NGINX_KEY_DIR/hs256.key;
    restauth_password_iterations 1000;
    restauth_rate_limit login_ip off;
    restauth_rate_limit login_account off;
    restauth_jobs auto;
    restauth_job_queue 0;
--- config
    location /auth/ { restauth_api; }
--- request
POST /auth/login/
{"username": "nobody-here", "password": "whatever-it-is"}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- no_error_log
[error]
