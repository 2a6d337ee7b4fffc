#!/bin/sh
# nginx -s reload and -s quit while logins hash or wait for a hashing slot:
# the old worker stays until its jobs are done, and every client gets its
# 200.  nginx's exiting worker waits only for timers that are not
# cancelable; without one a job in flight was dropped ("open socket ...
# left in connection", "aborting") and its client got an empty reply.
# No sleeps sized to the machine: the script waits for the worker's debug
# lines saying the job runs or waits, with generous ceilings.
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d); chmod 755 "$work"
rport=19073; nport=19074
nginx_bin=${TEST_NGINX_BINARY:-/usr/sbin/nginx}
iterations=3000000          # ~0.5 s per login on an idle 2-core machine
ceiling=120                 # seconds, for anything the script waits for
passed=0; failed=0
ok() { passed=$((passed + 1)); echo "ok - $1"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $1"; }

cleanup() {
    [ -n "${npid:-}" ] && kill "$npid" 2>/dev/null
    [ -f "$work/redis.pid" ] && kill "$(cat "$work/redis.pid")" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 1' INT TERM

redis-server --port $rport --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize yes --pidfile "$work/redis.pid" --logfile "$work/redis.log"
up=0
for _ in $(seq 100); do redis-cli -p $rport PING >/dev/null 2>&1 && { up=1; break; }; sleep 0.1; done
[ $up -eq 1 ] || { echo "redis-server did not start on port $rport"; exit 1; }
"$here/scripts/restauth-user" --redis 127.0.0.1:$rport create reloader --email reload@example.com \
    --password 'Reload-Hash-Pass-1' --iterations $iterations >/dev/null

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
    access_log off;
    restauth_redis 127.0.0.1:$rport;
    restauth_jwt_key HS256 $here/t/keys/hs256.key;
    restauth_password_iterations $iterations;
    restauth_jobs 1;
    restauth_job_queue_timeout 300s;
    server {
        listen 127.0.0.1:$nport;
        location /auth/ { restauth_api; }
    }
}
CONF
"$nginx_bin" -p "$work" -c "$work/nginx.conf" -e "$work/logs/error.log" &
npid=$!
for _ in $(seq 100); do curl -s "http://127.0.0.1:$nport/auth/health/" >/dev/null && break; sleep 0.1; done

log_count() { grep -c "$1" "$work/logs/error.log"; }

# wait_log PATTERN N: until the error log has N lines with PATTERN
wait_log() {
    i=0
    while [ "$(log_count "$1")" -lt "$2" ]; do
        i=$((i + 1)); [ $i -gt $((ceiling * 10)) ] && return 1
        sleep 0.1
    done
}

login() {  # tag: in the background, writes $work/code.<tag>
    curl -s -o "$work/body.$1" -m $ceiling -w '%{http_code}\n' -H 'Content-Type: application/json' \
        -d '{"username": "reloader", "password": "Reload-Hash-Pass-1"}' \
        "http://127.0.0.1:$nport/auth/login/" > "$work/code.$1.tmp"
    mv "$work/code.$1.tmp" "$work/code.$1"
}

wait_code() {  # tag
    i=0
    while [ ! -f "$work/code.$1" ]; do
        i=$((i + 1)); [ $i -gt $((ceiling * 10)) ] && return 1
        sleep 0.1
    done
}

check_code() {  # tag what
    if wait_code "$1" && [ "$(cat "$work/code.$1")" = 200 ] && grep -q '"access"' "$work/body.$1"; then
        ok "$2: 200 with tokens"
    else
        not_ok "$2: got '$(cat "$work/code.$1" 2>/dev/null)' $(cat "$work/body.$1" 2>/dev/null)"
    fi
}

# 1. reload while one login hashes and another waits for the slot
runs=$(log_count 'restauth job run'); queued=$(log_count 'restauth job queued')
login r1 &
wait_log 'restauth job run' $((runs + 1)) || not_ok "the first login never started hashing"
login r2 &
wait_log 'restauth job queued' $((queued + 1)) || not_ok "the second login never queued"
"$nginx_bin" -p "$work" -c "$work/nginx.conf" -e "$work/logs/error.log" -s reload
wait_log 'gracefully shutting down' 1 || not_ok "the old worker was never told to shut down"
check_code r1 "reload while the login hashes"
check_code r2 "reload while the login waits in the queue"
wait_log 'exiting' 1 && ok "the old worker exited once its jobs were done" ||
    not_ok "the old worker did not exit"
curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$nport/auth/health/" | grep -q 200 &&
    ok "the new worker answers" || not_ok "the new worker does not answer"

# 2. quit while a login hashes: nginx exits only after answering it
runs=$(log_count 'restauth job run')
login q1 &
wait_log 'restauth job run' $((runs + 1)) || not_ok "the login before quit never started hashing"
"$nginx_bin" -p "$work" -c "$work/nginx.conf" -e "$work/logs/error.log" -s quit
check_code q1 "quit while the login hashes"
i=0
while kill -0 "$npid" 2>/dev/null; do
    i=$((i + 1)); [ $i -gt $((ceiling * 10)) ] && break
    sleep 0.1
done
if kill -0 "$npid" 2>/dev/null; then not_ok "nginx did not exit after quit"
else ok "nginx exited after quit"; wait "$npid" 2>/dev/null; npid=; fi

if grep -E 'left in connection|aborting|\[(alert|crit|emerg)\]' "$work/logs/error.log"; then
    not_ok "the error log shows dropped connections or alerts"
else
    ok "no dropped connections or alerts in the error log"
fi

rpid=$(cat "$work/redis.pid"); kill "$rpid"
while kill -0 "$rpid" 2>/dev/null; do sleep 0.05; done
rm -f "$work/redis.pid"
[ $failed -eq 0 ] && rm -rf "$work" || echo "# logs kept in $work"
echo "graceful_reload: $passed passed, $failed failed"
[ $failed -eq 0 ]
