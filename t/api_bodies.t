# Request bodies: chunked transfer coding, and sizes around the default
# restauth_max_body_size (16k), which is larger than nginx's default
# client_body_buffer_size (8k/16k): the module raises the buffer for its own
# locations, so bodies up to the limit are read in memory and never refused
# for having been spooled to disk.  Larger ones get the JSON 413.
use Test::Nginx::Socket 'no_plan';
use lib 't';
use RestauthTest;

# A raw HTTP/1.1 POST with a chunked body: the JSON split into chunks of
# the given sizes (the rest in a last chunk).
sub chunked_post {
    my ($path, $json, @sizes) = @_;
    my $body = '';
    while (length $json) {
        my $n = @sizes ? shift @sizes : length $json;
        my $chunk = substr $json, 0, $n, '';
        $body .= sprintf("%x\r\n", length $chunk) . $chunk . "\r\n";
    }
    return "POST $path HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
         . "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
         . $body . "0\r\n\r\n";
}

# A login body of exactly $len bytes (alice's credentials and a padding field).
sub padded_login {
    my $len = shift;
    my $head = '{"username": "alice", "password": "Alice-Pass-2024", "padding": "';
    my $tail = '"}';
    return $head . ("x" x ($len - length($head) - length($tail))) . $tail;
}

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a chunked login body, in several chunks
--- http_config
    restauth_password_iterations 1000;
--- raw_request eval
main::chunked_post("/auth/login/", '{"username": "alice", "password": "Alice-Pass-2024"}', 1, 10, 20)
--- error_code: 200
--- response_body_like: ^\{"access": "eyJ[\w-]+\.[\w-]+\.[\w-]+", "refresh": "eyJ[\w-]+\.[\w-]+\.[\w-]+", "user": \{"pk": 1, "username": "alice"
--- no_error_log
[error]
[alert]
[crit]



=== TEST 2: a chunked registration body
--- http_config
    restauth_password_iterations 1000;
--- raw_request eval
main::chunked_post("/auth/registration/", '{"username": "chunkyuser", "email": "chunky@example.com", "password1": "Chunky-Pass-2024", "password2": "Chunky-Pass-2024"}', 40)
--- error_code: 201
--- response_body_like: "user": \{"pk": \d+, "username": "chunkyuser", "email": "chunky@example.com"
--- redis_after
HGET restauth:users:by_username chunkyuser =~ ^\d+$
--- no_error_log
[error]
[alert]
[crit]



=== TEST 3: a chunked body that is refused still gets its JSON answer
--- http_config
    restauth_password_iterations 1000;
--- raw_request eval
main::chunked_post("/auth/login/", '{"username": "alice", "password": "wrong"}')
--- error_code: 400
--- response_body chomp
{"non_field_errors": ["Unable to log in with provided credentials."]}
--- no_error_log
[error]
[alert]
[crit]



=== TEST 4: an empty chunked body
--- raw_request eval
main::chunked_post("/auth/login/", '')
--- error_code: 400
--- response_body chomp
{"password": ["This field is required."]}
--- no_error_log
[error]
[alert]
[crit]



=== TEST 5: a 12 KB JSON body at the default settings is read in memory and processed
--- http_config
    restauth_password_iterations 1000;
--- request eval
"POST /auth/login/\n" . main::padded_login(12 * 1024)
--- more_headers
Content-Type: application/json
--- error_code: 200
--- response_body_like: "user": \{"pk": 1, "username": "alice"
--- no_error_log
[error]
buffered to a temporary file



=== TEST 6: the same 12 KB body, chunked
--- http_config
    restauth_password_iterations 1000;
--- raw_request eval
main::chunked_post("/auth/login/", main::padded_login(12 * 1024), 4096, 4096)
--- error_code: 200
--- response_body_like: "user": \{"pk": 1, "username": "alice"
--- no_error_log
[error]
buffered to a temporary file



=== TEST 7: a body of exactly restauth_max_body_size (16k) is processed
--- http_config
    restauth_password_iterations 1000;
--- request eval
"POST /auth/login/\n" . main::padded_login(16384)
--- more_headers
Content-Type: application/json
--- error_code: 200
--- response_body_like: "user": \{"pk": 1, "username": "alice"
--- no_error_log
[error]
buffered to a temporary file



=== TEST 8: one byte over restauth_max_body_size: 413 JSON
--- request eval
"POST /auth/login/\n" . main::padded_login(16385)
--- more_headers
Content-Type: application/json
--- error_code: 413
--- response_body chomp
{"detail": "Request body is too large."}



=== TEST 9: one byte over restauth_max_body_size, chunked: 413 JSON
--- raw_request eval
main::chunked_post("/auth/login/", main::padded_login(16385), 8000)
--- error_code: 413
--- response_body chomp
{"detail": "Request body is too large."}
--- error_log
restauth: request body exceeds restauth_max_body_size



=== TEST 10: a smaller restauth_max_body_size is enforced on chunked bodies too
--- config
    location /auth/ {
        restauth_api;
        restauth_max_body_size 1k;
    }
--- raw_request eval
main::chunked_post("/auth/login/", main::padded_login(1025), 500)
--- error_code: 413
--- response_body chomp
{"detail": "Request body is too large."}
--- error_log
restauth: request body exceeds restauth_max_body_size



=== TEST 11: a larger restauth_max_body_size raises the buffer with it
--- http_config
    restauth_password_iterations 1000;
--- config
    location /auth/ {
        restauth_api;
        restauth_max_body_size 64k;
    }
--- request eval
"POST /auth/login/\n" . main::padded_login(60000)
--- more_headers
Content-Type: application/json
--- error_code: 200
--- response_body_like: "user": \{"pk": 1, "username": "alice"
--- no_error_log
[error]
buffered to a temporary file
