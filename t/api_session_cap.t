# Bounded per-user state (#13 item 4): restauth_max_sessions_per_user caps a
# user's sessions (and opaque keys): a login revokes the oldest beyond it,
# record and all, so its refresh token stops working; sessions/ reads at most
# the cap; an older version's plain set is sorted and capped too.  Users
# 9900-9903 are this file's own (redis_before), so the shared fixtures stay as
# they are, and so do the session ids (none a fixture's).
use Test::Nginx::Socket 'no_plan';
use lib 't';
use RestauthTest;

our $User = 'HSET restauth:user:%d id %d username %s email %s@example.com'
    . ' password pbkdf2_sha256$1000$cappedsalt12$C8FLJvJtISB2tG0w7177gDOdtq3LOR0cHQHgmHSs7VQ='
    . ' first_name "" last_name "" is_active 1 is_staff 0 is_superuser 0 email_verified 1'
    . ' date_joined 2024-01-01T00:00:00Z last_login ""';

sub user_lines {
    my ($id, $name) = @_;
    return sprintf($User, $id, $id, $name, $name) . "\nHSET restauth:users:by_username $name $id\n";
}

sub session_lines {    # uid, [sid, created]...; the index as this version writes it
    my ($uid, @s) = @_;
    my $out = "DEL restauth:user:$uid:sessions restauth:user:$uid:sessions:unsorted\n";
    for my $s (@s) {
        my ($sid, $created) = @$s;
        $out .= "HSET restauth:session:$sid user_id $uid jti j$sid created $created last_used $created"
            . " user_agent ua ip 192.0.2.1 expires 4102444800\n"
            . "ZADD restauth:user:$uid:sessions $created $sid\n";
    }
    return $out;
}

no_shuffle();
run_tests();

__DATA__

=== TEST 1: a login at the cap revokes the oldest session; its refresh token is refused, the others work
--- http_config
    restauth_password_iterations 1000;
    restauth_max_sessions_per_user 3;
--- redis_before eval
main::user_lines(9900, 'capped') . main::session_lines(9900,
    ['5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a', 1700000001],
    ['5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b', 1700000002],
    ['5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c', 1700000003])
--- request eval
[
"POST /auth/login/\n{\"username\": \"capped\", \"password\": \"Capped-Pass-2024\"}",
"POST /auth/token/refresh/\n{\"refresh\": \"" . RestauthTest::refresh_token(9900, '5a' x 16, 'j' . '5a' x 16) . "\"}",
"POST /auth/token/refresh/\n{\"refresh\": \"" . RestauthTest::refresh_token(9900, '5b' x 16, 'j' . '5b' x 16) . "\"}",
]
--- more_headers
Content-Type: application/json
--- error_code eval
[200, 401, 200]
--- response_body_like eval
[
qr/^\{"access": "eyJ/,
qr/^\{"detail": "Token is blacklisted", "code": "token_not_valid"\}$/,
qr/^\{"access": "eyJ/,
]
--- redis_after
ZCARD restauth:user:9900:sessions => 3
EXISTS restauth:session:5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a => 0
ZSCORE restauth:user:9900:sessions 5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a => (nil)
EXISTS restauth:session:5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b restauth:session:5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c => 2



=== TEST 2: the default cap is 100
--- http_config
    restauth_password_iterations 1000;
--- redis_before eval
main::user_lines(9900, 'capped') . main::session_lines(9900,
    map { [sprintf('%032x', 0xd000 + $_), 1700000000 + $_] } 1 .. 100)
--- request
POST /auth/login/
{"username": "capped", "password": "Capped-Pass-2024"}
--- more_headers
Content-Type: application/json
--- error_code: 200
--- redis_after
ZCARD restauth:user:9900:sessions => 100
EXISTS restauth:session:0000000000000000000000000000d001 => 0
EXISTS restauth:session:0000000000000000000000000000d002 => 1



=== TEST 3: sessions/ lists at most the cap: the newest, oldest first
--- http_config
    restauth_max_sessions_per_user 2;
--- redis_before eval
main::user_lines(9901, 'lister') . main::session_lines(9901,
    ['6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a6a', 1700000001],
    ['6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b', 1700000002],
    ['6c6c6c6c6c6c6c6c6c6c6c6c6c6c6c6c', 1700000003])
--- request
GET /auth/sessions/
--- more_headers eval
"Authorization: Bearer " . RestauthTest::access_token(9901, 'lister', '6c6c6c6c6c6c6c6c6c6c6c6c6c6c6c6c')
--- error_code: 200
--- response_body_like: ^\[\{"id": "6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b6b", [^\]]*"current": false\}, \{"id": "6c6c6c6c6c6c6c6c6c6c6c6c6c6c6c6c", [^\]]*"current": true\}\]$
--- redis_after
ZCARD restauth:user:9901:sessions => 3



=== TEST 4: an older version's plain set over the cap: sorted and capped at the next login
--- http_config
    restauth_password_iterations 1000;
    restauth_max_sessions_per_user 2;
--- redis_before eval
main::user_lines(9902, 'legacy') . "DEL restauth:user:9902:sessions restauth:user:9902:sessions:unsorted\n"
. join '', map {
    "HSET restauth:session:4${_}4${_}4${_}4${_}4${_}4${_}4${_}4${_}4${_}4${_}4${_}4${_}4${_}4${_}4${_}4${_} user_id 9902 jti j created 170000000$_\n"
    . "SADD restauth:user:9902:sessions 4${_}4${_}4${_}4${_}4${_}4${_}4${_}4${_}4${_}4${_}4${_}4${_}4${_}4${_}4${_}4${_}\n"
} 1 .. 4
--- request
POST /auth/login/
{"username": "legacy", "password": "Capped-Pass-2024"}
--- more_headers
Content-Type: application/json
--- error_code: 200
--- redis_after
TYPE restauth:user:9902:sessions => zset
ZCARD restauth:user:9902:sessions => 2
EXISTS restauth:user:9902:sessions:unsorted => 0
EXISTS restauth:session:41414141414141414141414141414141 restauth:session:42424242424242424242424242424242 restauth:session:43434343434343434343434343434343 => 0
ZSCORE restauth:user:9902:sessions 44444444444444444444444444444444 => 1700000004



=== TEST 5: opaque mode: the oldest key beyond the cap is deleted and no longer authenticates
--- http_config
    restauth_password_iterations 1000;
    restauth_token_mode opaque;
    restauth_max_sessions_per_user 2;
--- redis_before eval
main::user_lines(9903, 'keyholder') . "DEL restauth:user:9903:tokens\n"
. "HSET restauth:token:468d019ea81224aeca7ee270b11959d8a187f6f0b6a3febff1c34dc1d66c8d85 user_id 9903 created 1700000001\n"
. "ZADD restauth:user:9903:tokens 1700000001 468d019ea81224aeca7ee270b11959d8a187f6f0b6a3febff1c34dc1d66c8d85\n"
. "HSET restauth:token:79396ef8980b554cb66116d8c775a13c499189f5681b6d3a2efd2df8990afc55 user_id 9903 created 1700000002\n"
. "ZADD restauth:user:9903:tokens 1700000002 79396ef8980b554cb66116d8c775a13c499189f5681b6d3a2efd2df8990afc55\n"
--- request eval
[
"POST /auth/login/\n{\"username\": \"keyholder\", \"password\": \"Capped-Pass-2024\"}",
"GET /auth/user/",
"GET /auth/user/",
]
--- more_headers eval
[
"Content-Type: application/json",
"Authorization: Token 1111111111111111111111111111111111111111",
"Authorization: Token 2222222222222222222222222222222222222222",
]
--- error_code eval
[200, 401, 200]
--- response_body_like eval
[
qr/^\{"key": "[0-9a-f]{40}"\}$/,
qr/^\{"detail": "Invalid token."\}$/,
qr/"username": "keyholder"/,
]
--- redis_after
ZCARD restauth:user:9903:tokens => 2
EXISTS restauth:token:468d019ea81224aeca7ee270b11959d8a187f6f0b6a3febff1c34dc1d66c8d85 => 0
ZSCORE restauth:user:9903:tokens 79396ef8980b554cb66116d8c775a13c499189f5681b6d3a2efd2df8990afc55 => 1700000002



=== TEST 6: the cap must be 1 to 1000
--- http_config
    restauth_max_sessions_per_user 0;
--- must_die
--- error_log
value must be between 1 and 1000



=== TEST 7: and is refused above 1000
--- http_config
    restauth_max_sessions_per_user 1001;
--- must_die
--- error_log
value must be between 1 and 1000
