# Secrets in the mail stream: every mail appended trims the stream to about
# restauth_mail_stream_maxlen entries (XADD MAXLEN ~, whole nodes of
# stream-node-max-entries, 100 by default), oldest first, so a backlog that
# no mailer consumes, and the raw tokens and keys in it, stays bounded.
# restauth-mailer's deleting of settled entries: tests/scripts.
use Test::Nginx::Socket 'no_plan';
use lib 't';
use RestauthTest;

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a reset mail trims a backlog of 300 unconsumed mails to about the limit, oldest first
--- http_config
    restauth_password_iterations 1000;
    restauth_mail_stream_maxlen 1;
    restauth_rate_limit mail_address off;
    restauth_rate_limit mail_ip off;
--- redis_before
HSET restauth:user:903 id 903 username retention email retention@example.com password pbkdf2_sha256$1000$fixturesalt1$gV/fBCwSj7UiKDfimmPw01aP9uaQ0AxHKvKN7lq3P0Y= first_name "" last_name "" is_active 1 is_staff 0 is_superuser 0 email_verified 1 date_joined 2024-01-01T00:00:00Z last_login ""
HSET restauth:users:by_username retention 903
HSET restauth:users:by_email retention@example.com 903
DEL restauth:mail
EVAL "for i = 1, 300 do redis.call('XADD', KEYS[1], '*', 'kind', 'password_reset', 'token', 'old-' .. i) end" 1 restauth:mail
--- request
POST /auth/password/reset/
{"email": "retention@example.com"}
--- more_headers
Content-Type: application/json
--- error_code: 200
--- response_body chomp
{"detail": "Password reset e-mail has been sent."}
--- redis_after
# 1 to 101 entries: the last node (old-201..old-300) and the new mail.
XLEN restauth:mail =~ \A(?:[1-9]|[1-9][0-9]|10[01])\z
XRANGE restauth:mail - + !~ ^token=old-1$
XRANGE restauth:mail - + !~ ^token=old-200$
XRANGE restauth:mail - + =~ ^to=retention@example\.com$.*^token=[\w-]{43}\z



=== TEST 2: the default limit (10000) keeps a backlog below it whole
--- http_config
    restauth_password_iterations 1000;
    restauth_rate_limit mail_address off;
    restauth_rate_limit mail_ip off;
--- redis_before
DEL restauth:mail
EVAL "for i = 1, 300 do redis.call('XADD', KEYS[1], '*', 'kind', 'password_reset', 'token', 'old-' .. i) end" 1 restauth:mail
--- request
POST /auth/password/reset/
{"email": "retention@example.com"}
--- more_headers
Content-Type: application/json
--- error_code: 200
--- redis_after
XLEN restauth:mail => 301



=== TEST 3: restauth_mail_stream_maxlen 0 is refused at startup
--- http_config
    restauth_mail_stream_maxlen 0;
--- must_die
--- error_log
value must be between 1 and 1000000000
