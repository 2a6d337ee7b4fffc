# GET /auth/health/: a real PING round trip to Redis; 404 and JSON for
# unknown paths.  Needs TEST_NGINX_REDIS_PORT and TEST_NGINX_KEY_DIR
# (scripts/run-integration-tests sets both).
use Test::Nginx::Socket 'no_plan';
use lib 't';
use RestauthTest;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: health answers after a PING round trip
--- request
GET /auth/health/
--- response_headers
Content-Type: application/json
--- response_body chomp
{"redis": "ok"}
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: health without the trailing slash
--- request
GET /auth/health
--- response_body chomp
{"redis": "ok"}



=== TEST 3: Redis down answers 503 JSON and logs why
--- http_config
    restauth_redis 127.0.0.1:19098;
--- request
GET /auth/health/
--- error_code: 503
--- response_headers
Content-Type: application/json
--- response_body chomp
{"detail": "Redis is unavailable."}
--- error_log
restauth: redis connect failed



=== TEST 4: Redis that never answers times out with 503
--- http_config
    restauth_redis 127.0.0.1:19097;
    restauth_redis_timeout 200ms;
--- tcp_listen: 19097
--- tcp_no_close
--- tcp_reply_delay: 2s
--- tcp_reply: +PONG
--- request
GET /auth/health/
--- error_code: 503
--- response_body chomp
{"detail": "Redis is unavailable."}
--- error_log
did not answer within restauth_redis_timeout



=== TEST 5: unknown path under the API location is a JSON 404
--- request
GET /auth/nope/
--- error_code: 404
--- response_headers
Content-Type: application/json
--- response_body chomp
{"detail": "Not found."}



=== TEST 6: wrong method on health is a 405 with Allow
--- request
POST /auth/health/
{}
--- more_headers
Content-Type: application/json
--- error_code: 405
--- response_headers
Allow: GET, HEAD, OPTIONS
--- response_body chomp
{"detail": "Method \"POST\" not allowed."}



=== TEST 7: restauth_api without a key fails at startup
--- no_shared_http_config
--- http_config
    restauth_redis 127.0.0.1:$TEST_NGINX_REDIS_PORT;
--- must_die
--- error_log
restauth_api and restauth_protect need at least one "restauth_jwt_key"



=== TEST 8: a weak HMAC key (31 bytes for HS256) is refused at startup
--- http_config
    restauth_jwt_key HS256 $TEST_NGINX_SERVER_ROOT/html/short.key;
--- user_files eval
[["short.key", "0123456789abcdefghijklmnopqrstu"]]
--- must_die
--- error_log
HS256 secrets must be at least 32 bytes, this one has 31



=== TEST 9: an unknown thread pool is refused at startup
--- http_config
    restauth_thread_pool nosuchpool;
--- must_die
--- error_log
unknown thread pool "nosuchpool"



=== TEST 10: a Redis that answers garbage is dropped with a 503
--- http_config
    restauth_redis 127.0.0.1:19096;
--- tcp_listen: 19096
--- tcp_reply: garbage
--- request
GET /auth/health/
--- error_code: 503
--- response_body chomp
{"detail": "Redis is unavailable."}
--- error_log
restauth: redis connection lost
--- no_error_log
[alert]
[crit]



=== TEST 11: a slow Redis within restauth_redis_timeout is fine
(The one-connection mock is not up yet when nginx first connects, and it
closes after its reply: both are logged as errors, so "[error]" is not
checked here.)
--- http_config
    restauth_redis 127.0.0.1:19096;
    restauth_redis_timeout 2s;
--- tcp_listen: 19096
--- tcp_reply_delay: 300ms
--- tcp_reply eval
"+PONG\r\n"
--- request
GET /auth/health/
--- response_body chomp
{"redis": "ok"}
--- no_error_log
did not answer within restauth_redis_timeout
redis is unavailable
[alert]
[crit]



=== TEST 12: Redis closing the connection mid-command is a 503
--- http_config
    restauth_redis 127.0.0.1:19096;
--- tcp_listen: 19096
--- tcp_reply:
--- request
GET /auth/health/
--- error_code: 503
--- response_body chomp
{"detail": "Redis is unavailable."}
--- error_log
restauth: health: redis is unavailable



=== TEST 13: AUTH with the password file; a wrong password is logged and answered 503
--- http_config
    restauth_redis_password_file $TEST_NGINX_KEY_DIR/hs256.key;
--- request
GET /auth/health/
--- error_code: 503
--- error_log
restauth: redis AUTH failed
--- no_error_log
restauth-test-only-secret



=== TEST 14: SELECT picks the database
--- http_config
    restauth_redis_db 3;
    restauth_password_iterations 1000;
--- request
POST /auth/login/
{"username": "alice", "password": "Alice-Pass-2024"}
--- more_headers
Content-Type: application/json
--- error_code: 400
--- response_body chomp
{"non_field_errors": ["Unable to log in with provided credentials."]}



=== TEST 15: a client leaving while its Redis command is in flight leaves no dangling callback
--- http_config
    restauth_redis 127.0.0.1:19096;
    restauth_redis_timeout 5s;
--- tcp_listen: 19096
--- tcp_reply_delay: 600ms
--- tcp_reply eval
"+PONG\r\n"
--- request
GET /auth/health/
--- timeout: 200ms
--- abort
--- wait: 1
--- ignore_response
--- error_log
client prematurely closed connection
restauth: reply for a finished request dropped
--- no_error_log
[alert]
[crit]
