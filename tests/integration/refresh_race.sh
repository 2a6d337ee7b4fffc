#!/bin/sh
# Concurrent refreshes of one refresh token: exactly one succeeds.  The
# others present an already-rotated token, which revokes the session (the
# token family), so the winner's new refresh token is dead too.
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d); chmod 755 "$work"
rport=19092; nport=19091
nginx_bin=${TEST_NGINX_BINARY:-/usr/sbin/nginx}
passed=0; failed=0
ok() { passed=$((passed + 1)); echo "ok - $1"; }
nok() { failed=$((failed + 1)); echo "not ok - $1"; }

redis-server --port $rport --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize yes --pidfile "$work/redis.pid" --logfile "$work/redis.log"
up=0
for _ in $(seq 50); do redis-cli -p $rport PING >/dev/null 2>&1 && { up=1; break; }; sleep 0.1; done
[ $up -eq 1 ] || { echo "redis-server did not start on port $rport"; exit 1; }
"$here/scripts/restauth-user" --redis 127.0.0.1:$rport create racer --email racer@example.com \
    --password 'Racer-Pass-2024' --iterations 1000 >/dev/null

mkdir -p "$work/logs"
cat > "$work/nginx.conf" <<CONF
load_module $here/build/ngx_http_restauth_module.so;
daemon off;
master_process on;
worker_processes 2;
error_log $work/logs/error.log info;
pid $work/nginx.pid;
events { worker_connections 256; }
http {
    access_log off;
    restauth_redis 127.0.0.1:$rport;
    restauth_password_iterations 1000;
    restauth_jwt_key HS256 $here/t/keys/hs256.key;
    server {
        listen 127.0.0.1:$nport;
        location /auth/ { restauth_api; }
    }
}
CONF
"$nginx_bin" -p "$work" -c "$work/nginx.conf" -e "$work/logs/error.log" &
npid=$!
for _ in $(seq 50); do curl -s "http://127.0.0.1:$nport/auth/health/" >/dev/null && break; sleep 0.1; done

api="http://127.0.0.1:$nport/auth"
refresh=$(curl -s -H 'Content-Type: application/json' \
    -d '{"username": "racer", "password": "Racer-Pass-2024"}' "$api/login/" |
    sed -n 's/.*"refresh": "\([^"]*\)".*/\1/p')
[ -n "$refresh" ] && ok "logged in" || nok "login failed"

pids=
for i in $(seq 20); do
    curl -s -o "$work/body.$i" -w '%{http_code}\n' -H 'Content-Type: application/json' \
        -d "{\"refresh\": \"$refresh\"}" "$api/token/refresh/" > "$work/code.$i" &
    pids="$pids $!"
done
# only the curls: a bare `wait` would also wait for nginx
wait $pids
wins=$(cat "$work"/code.* | grep -c '^200$')
losses=$(cat "$work"/code.* | grep -c '^401$')
echo "# 20 concurrent refreshes: $wins succeeded, $losses refused"
[ "$wins" -eq 1 ] && ok "exactly one concurrent refresh succeeds" || nok "$wins refreshes succeeded"
[ "$losses" -eq 19 ] && ok "the other 19 get 401" || nok "$losses got 401"
grep -l '"Token is blacklisted"' "$work"/body.* >/dev/null && ok "losers are told the token is blacklisted" ||
    nok "no blacklisted answer"

winner=$(grep -l '"access"' "$work"/body.* | head -1)
newref=$(sed -n 's/.*"refresh": "\([^"]*\)".*/\1/p' "$winner")
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
    -d "{\"refresh\": \"$newref\"}" "$api/token/refresh/")
[ "$code" = 401 ] && ok "reuse revoked the whole session, the winner's new token too" || nok "winner's token: $code"
grep -q "refresh token reuse detected" "$work/logs/error.log" && ok "reuse is logged" || nok "reuse not logged"
if grep -qE '\[(alert|crit|emerg)\]' "$work/logs/error.log"; then nok "alerts in error log"; else ok "no alerts"; fi

kill $npid; wait $npid 2>/dev/null
rpid=$(cat "$work/redis.pid"); kill "$rpid"
while kill -0 "$rpid" 2>/dev/null; do sleep 0.05; done
rm -rf "$work"
echo "refresh race: $passed passed, $failed failed"
[ $failed -eq 0 ]
