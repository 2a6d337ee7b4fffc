#!/bin/sh
# One request's Redis reply is late: that request alone answers 503, and the
# requests waiting behind it on the worker's one Redis connection still get
# their replies (#13 item 4).  Before, the late request's timer reset the
# connection, which answered every command in flight with 503.
#
# The late request: `CLIENT PAUSE ... WRITE` holds every script (EVAL) while
# reads (PING, EXISTS) and CLIENT UNPAUSE still run.  A password-reset request
# starts with its rate-limit script, so it waits; everything nginx sends on the
# same connection after it waits behind it, in order.
#
#   t=0     A (reset: EVAL) is sent; once Redis holds it, P1
#           (restauth_check_session: EXISTS), behind it
#   t=T/2   B (health: PING) and P2 (EXISTS) are sent, behind A on the link
#   t=T     A and P1 time out: 503 each; the connection, which has read
#           nothing since A, is retired: C (PING) goes to a new one, 200
#   then    UNPAUSE: the late replies of A and P1 are dropped; B and P2 get
#           theirs (200, and 401 for a session that does not exist), well
#           before their own deadline at 3T/2
#
# T is restauth_redis_timeout; the test waits on events (a curl finishing)
# and only sleeps T/2 to place B and P2 late enough that T/2 is left for the
# UNPAUSE to reach Redis after A's 503.  Then the truly dead case: a stopped
# Redis: the late request (a session check) answers 503, the one behind it
# still gets its reply, and a new connection takes over when Redis answers
# again, without a reload.
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d); chmod 755 "$work"
rport=19091; nport=19096
T=6
nginx_bin=${TEST_NGINX_BINARY:-/usr/sbin/nginx}
passed=0; failed=0
npid=

ok() { passed=$((passed + 1)); echo "ok - $1"; }
nok() { failed=$((failed + 1)); echo "not ok - $1"; }

# name expected-status file-with-"status body"
expect() {
    got=$(head -c 3 "$3")
    if [ "$got" = "$2" ]; then ok "$1"; else nok "$1 (got: $(cat "$3"))"; fi
}

# request name method path [data] [auth]: runs curl in the background,
# writing "status body" to $work/name; the pid in $work/name.pid
request() {
    (
        set -- "$@" "" ""
        name=$1 method=$2 path=$3 data=$4 auth=$5
        out=$(curl -s -o "$work/$name.body" -w '%{http_code}' --max-time 120 -X "$method" \
              ${data:+-H 'Content-Type: application/json' --data "$data"} \
              ${auth:+-H "Authorization: Bearer $auth"} "http://127.0.0.1:$nport$path")
        printf '%s %s\n' "$out" "$(cat "$work/$name.body" 2>/dev/null)" > "$work/$name.tmp"
        mv "$work/$name.tmp" "$work/$name"
    ) &
    echo $! > "$work/$1.pid"
}

finish() { wait "$(cat "$work/$1.pid")"; }

cleanup() {
    redis-cli -p $rport CLIENT UNPAUSE >/dev/null 2>&1
    [ -f "$work/redis.pid" ] && kill -CONT "$(cat "$work/redis.pid")" 2>/dev/null
    [ -n "$npid" ] && { kill "$npid" 2>/dev/null; wait "$npid" 2>/dev/null; }
    [ -f "$work/redis.pid" ] && redis-cli -p $rport shutdown nosave >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT

redis-server --port $rport --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize yes --pidfile "$work/redis.pid" --logfile "$work/redis.log"
for _ in $(seq 100); do redis-cli -p $rport PING >/dev/null 2>&1 && break; sleep 0.1; done

# an access token naming a session that does not exist: the session check
# answers 401 when Redis replies, 503 when it cannot
token=$(python3 - "$here/t/keys/hs256.key" <<'PY'
import base64, hashlib, hmac, json, sys
key = open(sys.argv[1], "rb").read().rstrip(b"\r\n")
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
body = b64(json.dumps({"token_type": "access", "exp": 4102444800, "iat": 1700000000,
                       "jti": "0" * 32, "user_id": 7, "sid": "5" * 32,
                       "username": "alice", "email": "alice@example.com"}).encode())
sig = b64(hmac.new(key, (head + "." + body).encode(), hashlib.sha256).digest())
print(head + "." + body + "." + sig)
PY
)

mkdir -p "$work/logs" "$work/html"
echo static > "$work/html/index.html"
cat > "$work/nginx.conf" <<CONF
load_module $here/build/ngx_http_restauth_module.so;
daemon off;
master_process on;
worker_processes 1;
error_log $work/logs/error.log info;
pid $work/nginx.pid;
events { worker_connections 64; }
http {
    access_log off;
    restauth_redis 127.0.0.1:$rport;
    restauth_redis_timeout ${T}s;
    restauth_jwt_key HS256 $here/t/keys/hs256.key;
    server {
        listen 127.0.0.1:$nport;
        location /auth/ { restauth_api; }
        location /app/ {
            restauth_protect on;
            restauth_check_session on;
            alias $work/html/;
        }
    }
}
CONF

"$nginx_bin" -p "$work" -c "$work/nginx.conf" -e "$work/logs/error.log" &
npid=$!
for _ in $(seq 100); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$nport/auth/health/")" = 200 ] && break
    sleep 0.1
done

request warm GET /auth/health/; finish warm
expect "healthy before" 200 "$work/warm"
request warm2 GET /app/ "" "$token"; finish warm2
expect "session check answers 401 for an unknown session" 401 "$work/warm2"

# ---- one late request among others in flight -------------------------------
redis-cli -p $rport CLIENT PAUSE 600000 WRITE >/dev/null
request A POST /auth/password/reset/ '{"email": "nobody@example.com"}'
# P1 goes out once Redis holds A's script (so behind it), at most 60 s
for _ in $(seq 600); do
    redis-cli -p $rport INFO clients | grep -q '^blocked_clients:[1-9]' && break
    sleep 0.1
done
request P1 GET /app/ "" "$token"
sleep $((T / 2))
request B GET /auth/health/
request P2 GET /app/ "" "$token"
finish A; finish P1
expect "the late request answers 503" 503 "$work/A"
expect "a late session check answers 503" 503 "$work/P1"
# Still paused: the stalled connection (A's script at its head) was left to
# B and P2, and a new one serves a read at once.
request C GET /auth/health/; finish C
expect "a new request goes to a fresh connection while the old one stalls" 200 "$work/C"
redis-cli -p $rport CLIENT UNPAUSE >/dev/null
finish B; finish P2
expect "a request behind it on the same connection gets its reply" 200 "$work/B"
expect "a session check behind it gets its reply" 401 "$work/P2"
request C2 POST /auth/password/reset/ '{"email": "nobody@example.com"}'; finish C2
expect "the script that was late runs again" 200 "$work/C2"

# ---- a Redis that stops answering altogether, then comes back ----------------
# The late one is a session check this time: D2 first, D behind it.
kill -STOP "$(cat "$work/redis.pid")"
request D2 GET /app/ "" "$token"
sleep $((T / 2))
request D GET /auth/health/
finish D2
expect "session check 503 while redis is stopped" 503 "$work/D2"
# the stalled connection was left to D: E goes to a new one
request E GET /auth/health/
kill -CONT "$(cat "$work/redis.pid")"
finish D; finish E
expect "a request behind the late session check gets its reply" 200 "$work/D"
expect "a request sent while it stalled is served once it answers" 200 "$work/E"
request F GET /auth/health/; finish F
expect "recovered without a reload" 200 "$work/F"

if grep -q 'resetting the connection' "$work/logs/error.log"; then
    nok "no connection reset by a request's timeout"
else
    ok "no connection reset by a request's timeout"
fi

if grep -E '\[(alert|crit|emerg)\]|signal [0-9]+' "$work/logs/error.log" | grep -v 'signal 15\|signal 3 '; then
    nok "error log has alerts or crashes"
else
    ok "no alerts or crashes in the error log"
fi

echo "slow reply: $passed passed, $failed failed"
[ $failed -eq 0 ]
