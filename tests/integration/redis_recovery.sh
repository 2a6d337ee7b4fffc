#!/bin/sh
# Redis goes away and comes back: the API answers 503 JSON meanwhile and
# recovers on the next request, without an nginx reload.  Also checks that
# a static location keeps answering while Redis is down.
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d); chmod 755 "$work"
rport=19081; nport=19086
nginx_bin=${TEST_NGINX_BINARY:-/usr/sbin/nginx}
passed=0; failed=0

check() {  # name expected-status expected-body-substring url
    out=$(curl -s -o "$work/body" -w '%{http_code}' "$4")
    if [ "$out" = "$2" ] && grep -q -- "$3" "$work/body"; then
        passed=$((passed + 1)); echo "ok - $1"
    else
        failed=$((failed + 1)); echo "not ok - $1 (got $out: $(cat "$work/body"))"
    fi
}

start_redis() {
    redis-server --port $rport --bind 127.0.0.1 --save '' --appendonly no \
        --daemonize yes --pidfile "$work/redis.pid" --logfile "$work/redis.log"
    for _ in $(seq 50); do redis-cli -p $rport PING >/dev/null 2>&1 && return; sleep 0.1; done
}

stop_redis() {
    rpid=$(cat "$work/redis.pid"); kill "$rpid"
    while kill -0 "$rpid" 2>/dev/null; do sleep 0.05; done
}

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
    restauth_redis_timeout 300ms;
    restauth_jwt_key HS256 $here/t/keys/hs256.key;
    server {
        listen 127.0.0.1:$nport;
        location /auth/ { restauth_api; }
        location / { root $work/html; }
    }
}
CONF

start_redis
"$nginx_bin" -p "$work" -c "$work/nginx.conf" -e "$work/logs/error.log" &
npid=$!
for _ in $(seq 50); do curl -s "http://127.0.0.1:$nport/" >/dev/null && break; sleep 0.1; done

check "healthy with redis up" 200 '"redis": "ok"' "http://127.0.0.1:$nport/auth/health/"
stop_redis
check "503 JSON with redis down" 503 '"detail"' "http://127.0.0.1:$nport/auth/health/"
check "static location unaffected" 200 static "http://127.0.0.1:$nport/"
sleep 0.2
check "still 503 on the next request" 503 '"detail"' "http://127.0.0.1:$nport/auth/health/"
start_redis
sleep 0.2
check "recovers without reload" 200 '"redis": "ok"' "http://127.0.0.1:$nport/auth/health/"

# A Redis that stalls: SIGSTOP it, requests time out with 503, then resume.
kill -STOP "$(cat "$work/redis.pid")"
check "503 when redis stalls" 503 '"detail"' "http://127.0.0.1:$nport/auth/health/"
kill -CONT "$(cat "$work/redis.pid")"
sleep 0.2
check "recovers after a stall" 200 '"redis": "ok"' "http://127.0.0.1:$nport/auth/health/"

if grep -E '\[(alert|crit|emerg)\]|signal [0-9]+' "$work/logs/error.log" | grep -v 'signal 15\|signal 3 ' ; then
    failed=$((failed + 1)); echo "not ok - error log has alerts or crashes"
else
    passed=$((passed + 1)); echo "ok - no alerts or crashes in the error log"
fi

kill $npid; wait $npid 2>/dev/null
stop_redis
rm -rf "$work"
echo "redis recovery: $passed passed, $failed failed"
[ $failed -eq 0 ]
