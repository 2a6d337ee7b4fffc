#!/bin/sh
# The Debian package, the way an operator meets it: `apt-get install` of the
# built libnginx-mod-http-restauth into this machine's nginx enables the
# module (modules-enabled, as Debian's other libnginx-mod-* packages do),
# Debian's nginx.conf still passes `nginx -t`, an nginx that includes
# modules-enabled answers /auth/health/ and logs in a user made with the
# packaged restauth-user; then `apt-get remove` and `purge` leave nothing
# behind.  Root only; starts its own redis-server and nginx on
# 127.0.0.1:19111-19112 and never touches a running nginx service.
# Usage: tests/deb/test_deb.sh <directory holding the built .deb>
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
debdir=$(cd "${1:?usage: $0 DEB_DIR}" && pwd)
pkg=libnginx-mod-http-restauth
rport=19111; nport=19112
work=$(mktemp -d); chmod 755 "$work"
passed=0; failed=0
ok() { passed=$((passed+1)); echo "ok - $1"; }
not_ok() { failed=$((failed+1)); echo "not ok - $1"; }
check() { # name, command...
    name=$1; shift
    if "$@" >"$work/check.log" 2>&1; then ok "$name"; else not_ok "$name"; sed 's/^/#   /' "$work/check.log"; fi
}
installed() { [ "$(dpkg-query -W -f='${db:Status-Status}' $pkg 2>/dev/null)" = installed ]; }
gone() { ! dpkg-query -W -f='${db:Status-Abbrev}' $pkg 2>/dev/null | grep -q '^[a-z]i'; }

deb=$(ls "$debdir"/${pkg}_*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || { echo "not ok - no ${pkg}_*.deb in $debdir"; echo "0 passed, 1 failed"; exit 1; }
if [ "$(id -u)" != 0 ]; then echo "not ok - needs root (dpkg)"; echo "0 passed, 1 failed"; exit 1; fi
installed && echo "# $pkg was installed before this test; it is replaced by $deb and purged at the end"

abi=$(sed -n 's/^nginx:abi=//p' /usr/share/nginx/src/debian/libnginx-mod.abisubstvars)
depends=$(dpkg-deb -f "$deb" Depends)
case ", $depends," in
    *", $abi,"*) ok "Depends names the nginx ABI ($abi)";;
    *) not_ok "Depends names the nginx ABI ($abi): $depends";;
esac
case "$depends" in
    *python3-redis*) ok "Depends on python3-redis (the operator scripts)";;
    *) not_ok "Depends on python3-redis: $depends";;
esac
check "the installed nginx provides that ABI" sh -c "dpkg-query -W -f='\${Provides}' nginx | grep -qw -- '$abi'"

# 1. Install.
check "apt-get install ./$(basename "$deb")" \
    env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$deb"
check "dpkg says $pkg is installed" installed
check "the module is in /usr/lib/nginx/modules" test -f /usr/lib/nginx/modules/ngx_http_restauth_module.so
check "modules-available/mod-http-restauth.conf loads it" \
    grep -qx 'load_module modules/ngx_http_restauth_module.so;' /usr/share/nginx/modules-available/mod-http-restauth.conf
check "postinst enabled it in /etc/nginx/modules-enabled" \
    sh -c '[ "$(readlink /etc/nginx/modules-enabled/50-mod-http-restauth.conf)" = /usr/share/nginx/modules-available/mod-http-restauth.conf ]'
check "Debian's nginx.conf with the module enabled passes nginx -t" \
    /usr/sbin/nginx -t -q -e "$work/t-error.log"
for tool in restauth-user restauth-mailer restauth-token; do
    check "/usr/bin/$tool --help runs" /usr/bin/$tool --help
done
check "README.Debian is installed" test -s /usr/share/doc/$pkg/README.Debian

# 2. The packaged module and tools work together.
redis-server --port $rport --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize yes --pidfile "$work/redis.pid" --logfile "$work/redis.log"
up=0
for _ in $(seq 300); do redis-cli -p $rport PING >/dev/null 2>&1 && { up=1; break; }; sleep 0.1; done
[ $up -eq 1 ] || echo "# redis-server did not start on port $rport"
check "the packaged restauth-user creates a user (with the packaged Lua scripts)" \
    sh -c "printf 'correct horse 42\n' | /usr/bin/restauth-user --redis 127.0.0.1:$rport create debby --email debby@example.com --iterations 1000 --password-stdin"

mkdir -p "$work/logs"
cat > "$work/nginx.conf" <<CONF
include /etc/nginx/modules-enabled/*.conf;
daemon off;
master_process on;
worker_processes 1;
error_log $work/logs/error.log warn;
pid $work/nginx.pid;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $work/body;
    restauth_redis 127.0.0.1:$rport;
    restauth_password_iterations 1000;
    restauth_jwt_key HS256 $here/t/keys/hs256.key;
    server {
        listen 127.0.0.1:$nport;
        location /auth/ { restauth_api; }
    }
}
CONF
/usr/sbin/nginx -c "$work/nginx.conf" -e "$work/logs/error.log" &
npid=$!
code=000
for _ in $(seq 300); do
    code=$(curl -s -o "$work/health.body" -w '%{http_code}' "http://127.0.0.1:$nport/auth/health/")
    [ "$code" != 000 ] && break
    kill -0 $npid 2>/dev/null || break
    sleep 0.1
done
if [ "$code" = 200 ] && [ "$(cat "$work/health.body")" = '{"redis": "ok"}' ]; then
    ok "an nginx including modules-enabled answers GET /auth/health/"
else
    not_ok "an nginx including modules-enabled answers GET /auth/health/ (got $code '$(cat "$work/health.body" 2>/dev/null)')"
    sed 's/^/#   /' "$work/logs/error.log" 2>/dev/null | tail -5
fi
code=$(curl -s -o "$work/login.body" -w '%{http_code}' -H 'Content-Type: application/json' \
    -d '{"username": "debby", "password": "correct horse 42"}' "http://127.0.0.1:$nport/auth/login/")
if [ "$code" = 200 ] && grep -q '"access"' "$work/login.body"; then
    ok "the user made by the packaged restauth-user logs in through the packaged module"
else
    not_ok "the user made by the packaged restauth-user logs in (got $code '$(cat "$work/login.body")')"
fi
kill $npid 2>/dev/null; wait $npid 2>/dev/null
rpid=$(cat "$work/redis.pid" 2>/dev/null) && kill "$rpid" 2>/dev/null

# 3. Remove, then purge: nothing is left, and Debian's nginx.conf still loads.
check "apt-get remove $pkg" env DEBIAN_FRONTEND=noninteractive apt-get remove -y $pkg
check "remove took the module and the tools away" \
    sh -c '! [ -e /usr/lib/nginx/modules/ngx_http_restauth_module.so ] && ! [ -e /usr/bin/restauth-user ] && ! [ -e /usr/share/libnginx-mod-http-restauth ]'
check "remove disabled it (no modules-enabled/50-mod-http-restauth.conf)" \
    sh -c '! [ -e /etc/nginx/modules-enabled/50-mod-http-restauth.conf ]'
check "Debian's nginx.conf passes nginx -t after remove" \
    /usr/sbin/nginx -t -q -e "$work/t-error.log"
check "apt-get purge $pkg" env DEBIAN_FRONTEND=noninteractive apt-get purge -y $pkg
check "purge left no modules-enabled link (nor its .removed)" \
    sh -c '! ls -d /etc/nginx/modules-enabled/*restauth* 2>/dev/null | grep -q .'
check "dpkg no longer knows $pkg" gone
check "no file of the package is left" \
    sh -c '! [ -e /usr/share/nginx/modules-available/mod-http-restauth.conf ] && ! [ -e /usr/share/doc/'$pkg' ]'

rm -rf "$work"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
