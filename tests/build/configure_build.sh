#!/bin/sh
# The module builds the way nginx users build modules, through `config`
# alone: in a fresh copy of the nginx source tree (nothing built, no
# build/librestauth.a used), `./configure --with-compat --with-threads
# --add-dynamic-module=<checkout>` and `make modules` produce a module that
# Debian's nginx loads and that answers GET /auth/health/.  Configure stops
# with a message naming the Debian package when a library, the C++20
# compiler or --with-threads is missing.
# Run inside a private network namespace (it starts redis and nginx).
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
nginx_src=${NGINX_SRC:-/usr/share/nginx/src}
nginx_bin=${TEST_NGINX_BINARY:-/usr/sbin/nginx}
rport=19101; nport=19102
work=$(mktemp -d); chmod 755 "$work"
passed=0; failed=0
ok() { passed=$((passed+1)); echo "ok - $1"; }
not_ok() { failed=$((failed+1)); echo "not ok - $1"; }

# Debian's nginx-dev tree has no top-level Makefile (upstream's has one
# whose `modules` target runs objs/Makefile).
make_modules() {
    if [ -f Makefile ]; then make -j2 modules; else make -j2 -f objs/Makefile modules; fi
}

# 1. Configure and build in a fresh copy of the nginx source tree.
cp -r "$nginx_src" "$work/nginx"
cd "$work/nginx"
if [ -d objs ]; then not_ok "the nginx tree is fresh (objs/ exists)"; else ok "the nginx tree is fresh"; fi
if ./configure --with-compat --with-threads --add-dynamic-module="$here" >"$work/configure.log" 2>&1; then
    ok "configure succeeds"
else
    not_ok "configure succeeds"; tail -20 "$work/configure.log"
fi
probes=$(grep -cE "^checking for (C\+\+20 compiler|OpenSSL 3 libcrypto|hiredis|cJSON|ICU \(NFKC\)) .*\.\.\. found" \
    "$work/configure.log")
if [ "$probes" -eq 5 ]; then ok "configure probed the C++20 compiler, OpenSSL, hiredis, cJSON and ICU"; else
    not_ok "configure probed the C++20 compiler, OpenSSL, hiredis, cJSON and ICU ($probes of 5 found)"; fi
# The C++ flags are the core's own; nginx's C files never get them.
if grep '^CFLAGS' objs/Makefile 2>/dev/null | grep -q -- '-std=c++'; then
    not_ok "nginx's CFLAGS carry no C++ flags"; else ok "nginx's CFLAGS carry no C++ flags"; fi

if make_modules >"$work/make.log" 2>&1 && [ -f objs/ngx_http_restauth_module.so ]; then
    ok "make modules builds objs/ngx_http_restauth_module.so"
else
    not_ok "make modules builds objs/ngx_http_restauth_module.so"; tail -30 "$work/make.log"
fi
module=$work/nginx/objs/ngx_http_restauth_module.so
# Each library once on the module's link line.
link=$(sed -n '/$(LINK) -o objs\/ngx_http_restauth_module.so/,/[^\\]$/p' objs/Makefile 2>/dev/null)
dups=$(echo "$link" | grep -oE -- '-l[a-z+]+' | sort | uniq -d)
if echo "$link" | grep -q -- -lhiredis && [ -z "$dups" ]; then ok "each link library appears once"; else
    not_ok "each link library appears once (repeated: ${dups:-no link rule found})"; fi

# 2. Debian's nginx loads it and answers /auth/health/ from a real redis.
redis-server --port $rport --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize yes --pidfile "$work/redis.pid" --logfile "$work/redis.log"
up=0
for _ in $(seq 300); do redis-cli -p $rport PING >/dev/null 2>&1 && { up=1; break; }; sleep 0.1; done
[ $up -eq 1 ] || echo "# redis-server did not start on port $rport"
mkdir -p "$work/run/logs"
cat > "$work/run/nginx.conf" <<CONF
load_module $module;
daemon off;
master_process on;
worker_processes 1;
error_log $work/run/logs/error.log warn;
pid $work/run/nginx.pid;
events { worker_connections 64; }
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
if "$nginx_bin" -p "$work/run" -c "$work/run/nginx.conf" -e "$work/run/logs/error.log" -t \
       >"$work/nginx-t.log" 2>&1; then
    ok "$nginx_bin loads the module (nginx -t)"
else
    not_ok "$nginx_bin loads the module (nginx -t)"; cat "$work/nginx-t.log"
fi
"$nginx_bin" -p "$work/run" -c "$work/run/nginx.conf" -e "$work/run/logs/error.log" &
npid=$!
code=000
for _ in $(seq 300); do
    code=$(curl -s -o "$work/health.body" -D "$work/health.headers" -w '%{http_code}' \
        "http://127.0.0.1:$nport/auth/health/")
    [ "$code" != 000 ] && break
    kill -0 $npid 2>/dev/null || break
    sleep 0.1
done
body=$(cat "$work/health.body" 2>/dev/null)
if [ "$code" = 200 ] && [ "$body" = '{"redis": "ok"}' ] \
   && grep -qi '^Content-Type: application/json' "$work/health.headers"; then
    ok "GET /auth/health/ answers 200 {\"redis\": \"ok\"}"
else
    not_ok "GET /auth/health/ answers 200 {\"redis\": \"ok\"} (got $code '$body')"
fi
kill $npid 2>/dev/null; wait $npid 2>/dev/null
rpid=$(cat "$work/redis.pid" 2>/dev/null) && kill "$rpid" 2>/dev/null
while [ -n "${rpid:-}" ] && kill -0 "$rpid" 2>/dev/null; do sleep 0.05; done

# 3. Configure stops with a clear message when something is missing.  A
# library is made missing the way the compiler sees it: an include directory
# (via --with-cc-opt, which nginx's probes use) whose copy of the library's
# header fails to compile.
cp -r "$nginx_src" "$work/neg"
cd "$work/neg"
expect_failure() { # name, expected message, configure arguments...
    name=$1; msg=$2; shift 2
    if "$@" >"$work/neg.log" 2>&1; then
        not_ok "$name: configure stops"
    elif grep -qF -- "$msg" "$work/neg.log"; then
        ok "$name: configure stops with \"$msg\""
    else
        not_ok "$name: configure stops with \"$msg\""; tail -5 "$work/neg.log"
    fi
}
missing_header() { # header path
    d=$work/fake-$(echo "$1" | tr / _)
    mkdir -p "$d/$(dirname "$1")"
    echo '#error "simulated missing library"' > "$d/$1"
    echo "$d"
}
for lib in "openssl/evp.h|libssl-dev|OpenSSL 3 libcrypto" \
           "hiredis/hiredis.h|libhiredis-dev|hiredis" \
           "cjson/cJSON.h|libcjson-dev|cJSON" \
           "unicode/unorm2.h|libicu-dev|ICU"; do
    header=${lib%%|*}; rest=${lib#*|}; pkg=${rest%%|*}; what=${rest#*|}
    fake=$(missing_header "$header")
    expect_failure "without $header" \
        "ngx_http_restauth_module requires $what: apt-get install $pkg" \
        ./configure --with-compat --with-threads --with-cc-opt="-I $fake" --add-dynamic-module="$here"
done
expect_failure "without a C++20 compiler" \
    "ngx_http_restauth_module requires a C++20 compiler" \
    env CXX=false ./configure --with-compat --with-threads --add-dynamic-module="$here"
expect_failure "without --with-threads" \
    "ngx_http_restauth_module requires --with-threads" \
    ./configure --with-compat --add-dynamic-module="$here"

cd /
[ $failed -eq 0 ] && rm -rf "$work" || echo "# logs kept in $work"
echo "configure_build: $passed passed, $failed failed"
[ $failed -eq 0 ]
