#!/bin/bash
# The failed-login limits hold under concurrency (issue #13, item 1): each
# attempt is counted before its password is hashed, in the round trip that
# checks the limits, so
#   1. wrong passwords already being hashed lock the account: the right
#      password sent after them is refused;
#   2. a burst of wrong passwords and the right one, all at once, gets at
#      most `login_account` password verdicts, and the counters in Redis
#      account for every attempt;
#   3. a client that disconnects while its password is hashed still counts.
# Before, the counters were checked in the lookup and incremented after
# the hash: every attempt of a burst passed the check, the right password
# got in, and a client gone mid-hash was never counted.
#
# The wait points are events (job posts in nginx's debug log, counters in
# Redis, the access log), each with a generous ceiling; no sleep is sized
# to the machine.  One worker with one hashing slot keeps the wrong
# passwords queued while the right one arrives.
#
# Needs the built module (make module), nginx built --with-debug (Debian's
# is), redis-server, redis-cli, curl.
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
rport=19077; nport=19078
nginx_bin=${TEST_NGINX_BINARY:-/usr/sbin/nginx}
base="http://127.0.0.1:$nport/auth"
limit=3      # restauth_rate_limit login_account
wrong=10     # wrong passwords per burst, more than the limit
iterations=300000
passed=0; failed=0
npid=

ok()   { passed=$((passed + 1)); echo "ok - $1"; }
fail() { failed=$((failed + 1)); echo "not ok - $1"; }
check() {  # name actual expected
    if [ "$2" = "$3" ]; then ok "$1"; else fail "$1 (got '$2', expected '$3')"; fi
}
rcli() { redis-cli -h 127.0.0.1 -p $rport "$@"; }
digest() { printf %s "$1" | sha256sum | cut -c1-32; }
ip_key="restauth:rl:login_ip:$(digest 127.0.0.1)"
account_key() { echo "restauth:rl:login_account:$(digest "$1")"; }
count_of() { local v; v=$(rcli GET "$1"); echo "${v:-0}"; }
log_count() { grep -c -- "$1" "$work/logs/error.log"; }
# wait_for <ceiling s> <command...>: until the command succeeds.
wait_for() {
    local ceiling=$1; shift
    local end=$((SECONDS + ceiling))
    while [ $SECONDS -lt $end ]; do "$@" && return 0; sleep 0.05; done
    "$@"
}
at_least() { [ "$($1 "$2")" -ge "$3" ]; }
# login <file> <user> <password>: in the background, status to <file>.code
login() {
    curl -s -o "$1.body" -w '%{http_code}' -H 'Content-Type: application/json' \
        --data "{\"username\": \"$2\", \"password\": \"$3\"}" "$base/login/" > "$1.code"
}
cleanup() {
    [ -n "$npid" ] && kill "$npid" 2>/dev/null && wait "$npid" 2>/dev/null
    if [ -f "$work/redis.pid" ] && kill "$(cat "$work/redis.pid")" 2>/dev/null; then
        for _ in $(seq 50); do rcli PING >/dev/null 2>&1 || break; sleep 0.1; done
    fi
    rm -rf "$work"
}
trap cleanup EXIT

mkdir -p "$work/logs"
cat > "$work/nginx.conf" <<CONF
load_module $here/build/ngx_http_restauth_module.so;
daemon off;
master_process on;
worker_processes 1;
error_log $work/logs/error.log debug;
pid $work/nginx.pid;
events { worker_connections 256; }
http {
    access_log $work/logs/access.log;
    restauth_redis 127.0.0.1:$rport;
    restauth_jwt_key HS256 $here/t/keys/hs256.key;
    restauth_password_iterations $iterations;
    restauth_jobs 1;
    restauth_job_queue 64;
    restauth_job_queue_timeout 300s;
    restauth_rate_limit login_ip 1000 1h;
    restauth_rate_limit login_account $limit 1h;
    server {
        listen 127.0.0.1:$nport;
        location /auth/ { restauth_api; }
    }
}
CONF

if rcli PING >/dev/null 2>&1; then
    echo "port $rport is taken by another Redis; stop it first"; exit 1
fi
redis-server --port $rport --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize yes --pidfile "$work/redis.pid" --logfile "$work/redis.log" || exit 1
for _ in $(seq 50); do rcli PING >/dev/null 2>&1 && break; sleep 0.1; done
# Users at the module's cost (restauth_password_iterations below).
for u in ivan judy kate; do
    echo "Right-Pass-$u-2024" | "$here/scripts/restauth-user" --redis 127.0.0.1:$rport create $u \
        --email $u@example.com --iterations $iterations --password-stdin >/dev/null ||
        { echo "could not create $u"; exit 1; }
done
"$nginx_bin" -p "$work" -c "$work/nginx.conf" -e "$work/logs/error.log" &
npid=$!
for _ in $(seq 100); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/health/")" = 200 ] && break
    sleep 0.1
done

# ---- 1. the right password after wrong ones still being hashed ----------------------
posts=$(log_count 'restauth job post')
pids=()
for i in $(seq 1 $wrong); do
    login "$work/a$i" ivan "Wrong-Pass-$i" &
    pids+=($!)
done
# Every wrong attempt has passed its lookup (and its count) and waits for
# its hash: one slot, each hash takes a while.
if wait_for 120 at_least log_count 'restauth job post' $((posts + wrong)); then
    ok "all $wrong wrong attempts reached the hashing queue"
else
    fail "only $(($(log_count 'restauth job post') - posts)) of $wrong wrong attempts reached the hashing queue"
fi
login "$work/a-right" ivan "Right-Pass-ivan-2024"
wait "${pids[@]}"
check "the right password after $wrong wrong ones in flight is refused" \
    "$(cat "$work/a-right.code") $(cat "$work/a-right.body")" \
    '400 {"non_field_errors": ["Unable to log in with provided credentials."]}'
n400=0
for i in $(seq 1 $wrong); do [ "$(cat "$work/a$i.code")" = 400 ] && n400=$((n400 + 1)); done
check "every wrong password is refused" "$n400" "$wrong"
check "the account counter holds the limit" "$(count_of "$(account_key ivan)")" "$limit"
check "the address counter holds every attempt" "$(count_of "$ip_key")" $((wrong + 1))
check "all but $limit attempts were refused as locked, the right one too" \
    "$(log_count 'login_account limit reached')" $((wrong + 1 - limit))

# ---- 2. wrong passwords and the right one, all at once ------------------------------
rcli DEL "$ip_key" >/dev/null
locked_before=$(log_count 'login_account limit reached')
pids=()
for i in $(seq 1 $wrong); do
    login "$work/b$i" judy "Wrong-Pass-$i" &
    pids+=($!)
    # the right one in the middle of the burst
    [ "$i" = $((wrong / 2)) ] && { login "$work/b-right" judy "Right-Pass-judy-2024" & pids+=($!); }
done
wait "${pids[@]}"
right=$(cat "$work/b-right.code")
verdicts=$(( wrong + 1 - ($(log_count 'login_account limit reached') - locked_before) ))
check "at most $limit of the $((wrong + 1)) attempts got a password verdict" \
    "$([ $verdicts -le $limit ] && echo yes || echo "no: $verdicts")" yes
case "$right" in
200) # counted among the first, then handed back
    check "right password in: its attempt was handed back (account counter)" \
        "$(count_of "$(account_key judy)")" $((limit - 1))
    check "right password in: its attempt was handed back (address counter)" "$(count_of "$ip_key")" "$wrong" ;;
400)
    check "right password locked out: the account counter holds the limit" \
        "$(count_of "$(account_key judy)")" "$limit"
    check "right password locked out: the address counter holds every attempt" \
        "$(count_of "$ip_key")" $((wrong + 1)) ;;
*) fail "the right password got $right $(cat "$work/b-right.body")" ;;
esac
echo "# the right password in the burst answered $right"
n400=0
for i in $(seq 1 $wrong); do [ "$(cat "$work/b$i.code")" = 400 ] && n400=$((n400 + 1)); done
check "every wrong password of the burst is refused" "$n400" "$wrong"

# ---- 3. a client gone while its password is hashed ----------------------------------
rcli DEL "$ip_key" >/dev/null
posts=$(log_count 'restauth job post')
done_before=$(log_count 'restauth job done')
orphans=$(log_count 'job for a finished request completed')
curl -s -o /dev/null -H 'Content-Type: application/json' \
    --data '{"username": "kate", "password": "Wrong-Pass-kate"}' "$base/login/" &
cpid=$!
if wait_for 120 at_least log_count 'restauth job post' $((posts + 1)); then
    kill "$cpid" 2>/dev/null
    wait "$cpid" 2>/dev/null
    ok "client disconnected after its job was posted"
else
    fail "the job was never posted"
fi
if wait_for 120 grep -q '"POST /auth/login/ HTTP/1.1" 499 ' "$work/logs/access.log"; then
    ok "nginx saw the client go (499)"
else
    fail "no 499 in the access log"
fi
# The disconnect came before the hash ended: the job ended after its
# request was gone.
if wait_for 120 at_least log_count 'restauth job done' $((done_before + 1)); then
    if [ "$(log_count 'job for a finished request completed')" -gt "$orphans" ]; then
        ok "the job ended after its request was gone (mid-hash)"
    else
        fail "the job did not outlive its request: the client left too late"
    fi
else
    fail "the job never ended"
fi
if wait_for 60 at_least count_of "$(account_key kate)" 1; then
    ok "the attempt of the client gone mid-hash counts against the account"
else
    fail "the attempt of the client gone mid-hash was never counted"
fi
check "... and against the address" "$(count_of "$ip_key")" 1
check "... once" "$(count_of "$(account_key kate)")" 1

if grep -E '\[(alert|crit|emerg)\]|signal [0-9]+' "$work/logs/error.log" | grep -v 'signal 15\|signal 3 \|signal 17'; then
    fail "error log has alerts or crashes"
else
    ok "no alerts or crashes in the error log"
fi

echo "login race: $passed passed, $failed failed"
[ $failed -eq 0 ]
