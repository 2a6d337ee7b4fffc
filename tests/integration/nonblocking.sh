#!/bin/sh
# The event loop never waits for password hashing: while 20 logins at the
# default 600000 PBKDF2 iterations run on one worker's thread pool, a static
# location served by the same worker keeps answering.  The yardstick is the
# machine's own: one login measured alone first, in the same run.  A loop
# that hashed itself would hold a static request for up to a whole hash;
# over 20 requests spread across the storm, the worst would come near one
# login's time.  The pool keeps it to scheduler noise, well under half.
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d); chmod 755 "$work"
rport=19083; nport=19088
nginx_bin=${TEST_NGINX_BINARY:-/usr/sbin/nginx}
passed=0; failed=0

redis-server --port $rport --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize yes --pidfile "$work/redis.pid" --logfile "$work/redis.log"
up=0
for _ in $(seq 50); do redis-cli -p $rport PING >/dev/null 2>&1 && { up=1; break; }; sleep 0.1; done
[ $up -eq 1 ] || { echo "redis-server did not start on port $rport"; exit 1; }
"$here/scripts/restauth-user" --redis 127.0.0.1:$rport create slowpoke --email slow@example.com \
    --password 'Slow-Hash-Pass-1' >/dev/null

mkdir -p "$work/logs" "$work/html"
echo static > "$work/html/index.html"
cat > "$work/nginx.conf" <<CONF
load_module $here/build/ngx_http_restauth_module.so;
daemon off;
master_process on;
worker_processes 1;
error_log $work/logs/error.log warn;
pid $work/nginx.pid;
events { worker_connections 256; }
http {
    access_log off;
    restauth_redis 127.0.0.1:$rport;
    restauth_jwt_key HS256 $here/t/keys/hs256.key;
    restauth_job_queue_timeout 300s;   # 20 logins wait on one worker, however slow the machine
    # 20 concurrent logins of one account: attempts are counted before the
    # hash, so the account limit (10) would rightly refuse half of them.
    restauth_rate_limit login_account off;
    server {
        listen 127.0.0.1:$nport;
        location /auth/ { restauth_api; }
        location / { root $work/html; }
    }
}
CONF
"$nginx_bin" -p "$work" -c "$work/nginx.conf" -e "$work/logs/error.log" &
npid=$!
for _ in $(seq 50); do curl -s "http://127.0.0.1:$nport/" >/dev/null && break; sleep 0.1; done

alone=$(curl -s -o /dev/null -w '%{time_total}' -H 'Content-Type: application/json' \
    -d '{"username": "slowpoke", "password": "Slow-Hash-Pass-1"}' "http://127.0.0.1:$nport/auth/login/")
alone_ms=$(echo "$alone" | awk '{printf "%d", $1 * 1000}')
limit_ms=$((alone_ms / 2))

start=$(date +%s.%N)
for i in $(seq 20); do
    curl -s -o "$work/login.$i" -w '%{http_code}\n' -H 'Content-Type: application/json' \
        -d '{"username": "slowpoke", "password": "Slow-Hash-Pass-1"}' \
        "http://127.0.0.1:$nport/auth/login/" > "$work/code.$i" &
done
sleep 0.3
worst=0
for i in $(seq 20); do
    t=$(curl -s -o /dev/null -w '%{time_total}' "http://127.0.0.1:$nport/")
    ms=$(echo "$t" | awk '{printf "%d", $1 * 1000}')
    [ "$ms" -gt "$worst" ] && worst=$ms
    sleep 0.05
done
# the samples above must have been taken during the storm
pending=0
for i in $(seq 20); do [ -s "$work/code.$i" ] || pending=$((pending+1)); done
wait_logins() { for i in $(seq 20); do while [ ! -s "$work/code.$i" ]; do sleep 0.1; done; done; }
wait_logins
elapsed=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
ok=$(cat "$work"/code.* | grep -c '^200$')
cat "$work"/code.* | sort | uniq -c | sed "s/^/# status /"

echo "# one login alone: ${alone_ms} ms; 20 at once took ${elapsed}s; worst static latency meanwhile: ${worst} ms"
if [ "$ok" -eq 20 ]; then passed=$((passed+1)); echo "ok - all 20 logins succeeded"; else
    failed=$((failed+1)); echo "not ok - only $ok of 20 logins succeeded"; fi
if [ "$pending" -gt 0 ]; then passed=$((passed+1)); echo "ok - static was measured while logins were hashing ($pending pending)"; else
    failed=$((failed+1)); echo "not ok - every login had finished before the static measurements did"; fi
if [ "$worst" -le "$limit_ms" ]; then passed=$((passed+1)); echo "ok - static answered within half a login's time (${limit_ms} ms)"; else
    failed=$((failed+1)); echo "not ok - static took ${worst} ms (limit: half a login alone, ${limit_ms} ms)"; fi

kill $npid; wait $npid 2>/dev/null
rpid=$(cat "$work/redis.pid"); kill "$rpid"
while kill -0 "$rpid" 2>/dev/null; do sleep 0.05; done
[ $failed -eq 0 ] && rm -rf "$work" || echo "# logs kept in $work"
echo "nonblocking: $passed passed, $failed failed"
[ $failed -eq 0 ]
