#!/bin/bash
# Concurrent renames of one user: rounds of 10 PATCH user/ {"username": ...}
# with the same access token, fired at once across two workers.  Every
# request read the user's name when it authenticated; the update script
# checks that name against the stored one, so the requests that lost the
# race re-read and retry instead of leaving the old name's index entry
# behind.  After each round the username index holds exactly one entry for
# the user: its current name, folded.
#
# Needs the built module (make module), nginx, redis-server, redis-cli, curl.
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
rport=19093; nport=19094
nginx_bin=${TEST_NGINX_BINARY:-/usr/sbin/nginx}
base="http://127.0.0.1:$nport/auth"
passed=0; failed=0
npid=

ok()   { passed=$((passed + 1)); echo "ok - $1"; }
fail() { failed=$((failed + 1)); echo "not ok - $1"; }
check() {  # name actual expected
    if [ "$2" = "$3" ]; then ok "$1"; else fail "$1 (got '$2', expected '$3')"; fi
}
rcli() { redis-cli -h 127.0.0.1 -p $rport "$@"; }
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
worker_processes 2;
error_log $work/logs/error.log info;
pid $work/nginx.pid;
events { worker_connections 256; }
http {
    access_log off;
    restauth_redis 127.0.0.1:$rport;
    restauth_jwt_key HS256 $here/t/keys/hs256.key;
    restauth_password_iterations 1000;
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
"$nginx_bin" -p "$work" -c "$work/nginx.conf" -e "$work/logs/error.log" &
npid=$!
for _ in $(seq 50); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/health/")" = 200 ] && break
    sleep 0.1
done

"$here/scripts/restauth-user" --redis 127.0.0.1:$rport create Renee --email renee@example.com \
    --password Renee-Pass-2024 --iterations 1000 >/dev/null || { echo "cannot create the user"; exit 1; }
login=$(curl -s -H 'Content-Type: application/json' \
        --data '{"username": "renee", "password": "Renee-Pass-2024"}' "$base/login/")
access=$(printf %s "$login" | sed -n 's/^{"access": "\([^"]*\)".*/\1/p')
[ -n "$access" ] || { echo "login failed: $login"; exit 1; }

rounds=5; clients=10
answers_ok=0; answers_other=0
for round in $(seq 1 $rounds); do
    pids=()
    for i in $(seq 1 $clients); do
        curl -s -o "$work/p$i.body" -w '%{http_code}' -X PATCH -H 'Content-Type: application/json' \
            -H "Authorization: Bearer $access" --data "{\"username\": \"Ren${round}x$i\"}" \
            "$base/user/" > "$work/p$i.code" &
        pids+=($!)
    done
    wait "${pids[@]}"
    for i in $(seq 1 $clients); do
        if [ "$(cat "$work/p$i.code")" = 200 ] &&
           grep -q "\"username\": \"Ren${round}x$i\"" "$work/p$i.body"; then
            answers_ok=$((answers_ok + 1))
        else
            answers_other=$((answers_other + 1))
            echo "# round $round client $i: $(cat "$work/p$i.code") $(cat "$work/p$i.body")"
        fi
    done
    current=$(rcli HGET restauth:user:1 username)
    folded=$(printf %s "$current" | tr '[:upper:]' '[:lower:]')
    check "round $round: one username index entry for the user" \
        "$(rcli --raw HGETALL restauth:users:by_username | paste - - | awk '$2 == 1' | wc -l)" 1
    check "round $round: it is the current name ($current)" "$(rcli HGET restauth:users:by_username "$folded")" 1
    check "round $round: the index holds nothing else" "$(rcli HLEN restauth:users:by_username)" 1
done
check "every rename answered 200 with its name" "$answers_ok" $((rounds * clients))
check "no other answers" "$answers_other" 0
echo "# $(grep -c 'concurrent renames' "$work/logs/error.log") requests gave up after repeated renames"
if grep -E '\[(alert|crit|emerg)\]|signal [0-9]+' "$work/logs/error.log" | grep -v 'signal 15\|signal 3 \|signal 17'; then
    fail "error log has alerts or crashes"
else
    ok "no alerts or crashes in the error log"
fi

echo "rename race: $passed passed, $failed failed"
[ $failed -eq 0 ]
