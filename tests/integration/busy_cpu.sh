#!/bin/sh
# Logins are not starved by foreign CPU load: two CPU-bound busy loops at
# normal priority run for the whole test, and logins at the default cost
# (600000 PBKDF2 iterations, ~0.25 s on an idle machine) still answer
# within a generous ceiling.  Hashing threads at SCHED_IDLE got no CPU at
# all here: a login waited for as long as the busy loops ran.
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d); chmod 755 "$work"
rport=19071; nport=19072
nginx_bin=${TEST_NGINX_BINARY:-/usr/sbin/nginx}
limit_s=${BUSY_CPU_LIMIT_S:-20}
passed=0; failed=0
ok() { passed=$((passed + 1)); echo "ok - $1"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $1"; }

loops=
cleanup() {
    for p in $loops; do kill "$p" 2>/dev/null; done
    [ -n "${npid:-}" ] && kill "$npid" 2>/dev/null
    [ -f "$work/redis.pid" ] && kill "$(cat "$work/redis.pid")" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 1' INT TERM

for _ in 1 2; do
    sh -c 'while :; do :; done' &
    loops="$loops $!"
done
echo "# busy loops at normal priority:$loops"

redis-server --port $rport --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize yes --pidfile "$work/redis.pid" --logfile "$work/redis.log"
up=0
for _ in $(seq 100); do redis-cli -p $rport PING >/dev/null 2>&1 && { up=1; break; }; sleep 0.1; done
[ $up -eq 1 ] || { echo "redis-server did not start on port $rport"; exit 1; }
# restauth-user's default cost is the module's default, 600000
"$here/scripts/restauth-user" --redis 127.0.0.1:$rport create busybee --email busy@example.com \
    --password 'Busy-Hash-Pass-1' >/dev/null
redis-cli -p $rport HGET restauth:user:1 password | grep -q '^pbkdf2_sha256\$600000\$' ||
    echo "# warning: the user's hash is not at 600000 iterations"

mkdir -p "$work/logs"
cat > "$work/nginx.conf" <<CONF
load_module $here/build/ngx_http_restauth_module.so;
daemon off;
master_process on;
worker_processes auto;
error_log $work/logs/error.log info;
pid $work/nginx.pid;
events { worker_connections 256; }
http {
    access_log off;
    restauth_redis 127.0.0.1:$rport;
    restauth_jwt_key HS256 $here/t/keys/hs256.key;
    server {
        listen 127.0.0.1:$nport;
        location /auth/ { restauth_api; }
    }
}
CONF
"$nginx_bin" -p "$work" -c "$work/nginx.conf" -e "$work/logs/error.log" &
npid=$!
for _ in $(seq 100); do curl -s "http://127.0.0.1:$nport/auth/health/" >/dev/null && break; sleep 0.1; done

login() {  # name username expected-status
    out=$(curl -s -o "$work/body" -m "$limit_s" -w '%{http_code} %{time_total}' \
        -H 'Content-Type: application/json' \
        -d "{\"username\": \"$2\", \"password\": \"Busy-Hash-Pass-1\"}" \
        "http://127.0.0.1:$nport/auth/login/")
    code=${out%% *}; t=${out#* }
    if [ "$code" = "$3" ]; then ok "$1: $code in ${t}s (ceiling ${limit_s}s)"
    else not_ok "$1: got '$code' after ${t}s, expected $3 within ${limit_s}s"; fi
}

login "login at 600000 iterations while two busy loops run" busybee 200
login "unknown user (same hash) while two busy loops run" nobody-here 400
# several at once: each worker runs its share, the rest wait in its queue
for i in 1 2 3 4; do
    curl -s -o /dev/null -m "$limit_s" -w '%{http_code}\n' -H 'Content-Type: application/json' \
        -d '{"username": "busybee", "password": "Busy-Hash-Pass-1"}' \
        "http://127.0.0.1:$nport/auth/login/" > "$work/code.$i" &
done
for i in 1 2 3 4; do
    while [ ! -s "$work/code.$i" ]; do sleep 0.1; done
done
n=$(cat "$work"/code.* | grep -c '^200$')
if [ "$n" -eq 4 ]; then ok "4 concurrent logins answered 200 while two busy loops run"
else not_ok "only $n of 4 concurrent logins answered 200: $(cat "$work"/code.* | tr '\n' ' ')"; fi

if grep -E '\[(alert|crit|emerg)\]' "$work/logs/error.log"; then not_ok "error log has alerts"
else ok "no alerts in the error log"; fi

for p in $loops; do kill "$p" 2>/dev/null; done; loops=
kill "$npid"; wait "$npid" 2>/dev/null; npid=
rpid=$(cat "$work/redis.pid"); kill "$rpid"
while kill -0 "$rpid" 2>/dev/null; do sleep 0.05; done
rm -f "$work/redis.pid"
[ $failed -eq 0 ] && rm -rf "$work" || echo "# logs kept in $work"
echo "busy_cpu: $passed passed, $failed failed"
[ $failed -eq 0 ]
