#!/bin/sh
# restauth_protect in front of non-HTTP upstreams: FastCGI (fastcgi_pass),
# uwsgi (uwsgi_pass) and gRPC (grpc_pass, HTTP/2 to the backend; clients on
# HTTP/1.1 and on HTTP/2).  The backends (tests/integration/echo_upstreams.py,
# standard-library Python) parse their protocol and echo the identity
# variables they received: HTTP_X_AUTH_* parameters for FastCGI and uwsgi,
# x-auth-* headers for gRPC.  Checked for each:
#   - a valid token: the backend sees exactly the verified user id, username
#     and e-mail;
#   - forged identity headers (any letter case, '_' for '-', with
#     underscores_in_headers on) and no token, under `restauth_protect
#     optional`: the backend is reached and sees none of them;
#   - a valid token plus forged headers: only the verified values arrive;
#   - no token under `restauth_protect on`: 401 and the backend is never asked.
#
# Needs the built module (make module), nginx, curl (with HTTP/2),
# Debian's python3 with python3-jwt.  No Redis: restauth_protect verifies
# tokens locally.  Ports: 127.0.0.1:19063 (nginx), 19064 (FastCGI),
# 19065 (uwsgi), 19066 (gRPC); nginx's HTTP/2 listener is a unix socket.
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d); chmod 755 "$work"
nport=19063; fport=19064; uport=19065; gport=19066
nginx_bin=${TEST_NGINX_BINARY:-/usr/sbin/nginx}
python=/usr/bin/python3
h2sock="$work/h2.sock"
passed=0; failed=0
npid=; hpid=

ok()   { passed=$((passed + 1)); echo "ok - $1"; }
fail() { failed=$((failed + 1)); echo "not ok - $1"; }
check() {  # name actual expected
    if [ "$2" = "$3" ]; then ok "$1"; else fail "$1 (got '$2', expected '$3')"; fi
}

cleanup() {
    if [ -n "$npid" ]; then kill "$npid" 2>/dev/null; wait "$npid" 2>/dev/null; fi
    if [ -n "$hpid" ]; then kill "$hpid" 2>/dev/null; wait "$hpid" 2>/dev/null; fi
    [ "${keep:-0}" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- backends ------------------------------------------------------------------
"$python" "$here/tests/integration/echo_upstreams.py" --fastcgi $fport --uwsgi $uport \
    --grpc $gport --ready "$work/backends.ready" --log "$work/backends.log" \
    2> "$work/backends.err" &
hpid=$!
for _ in $(seq 50); do
    [ -f "$work/backends.ready" ] && break
    kill -0 "$hpid" 2>/dev/null || break
    sleep 0.1
done
if [ ! -f "$work/backends.ready" ]; then
    echo "echo_upstreams.py did not start:"; cat "$work/backends.err"; hpid=; exit 1
fi
: > "$work/backends.log"

# ---- a token: signed independently with python3-jwt -----------------------------
token=$("$python" - "$here/t/keys/hs256.key" <<'PY'
import secrets, sys, time
import jwt
with open(sys.argv[1], "rb") as f:
    key = f.read().rstrip(b"\r\n")     # the module ignores the trailing newline too
print(jwt.encode({"token_type": "access", "exp": 4102444800, "iat": int(time.time()),
                  "jti": secrets.token_hex(16), "user_id": 7, "username": "alice",
                  "email": "alice@example.com", "sid": secrets.token_hex(16)},
                 key, algorithm="HS256"))
PY
)
[ -n "$token" ] || { echo "could not sign a token (python3-jwt missing?)"; exit 1; }

# ---- nginx ---------------------------------------------------------------------
params() {  # fastcgi|uwsgi -> path of a params file to include
    if [ -f "/etc/nginx/$1_params" ]; then echo "/etc/nginx/$1_params"; return; fi
    for p in QUERY_STRING:query_string REQUEST_METHOD:request_method \
             CONTENT_TYPE:content_type CONTENT_LENGTH:content_length \
             REQUEST_URI:request_uri DOCUMENT_URI:document_uri \
             SERVER_PROTOCOL:server_protocol REMOTE_ADDR:remote_addr \
             SERVER_PORT:server_port SERVER_NAME:server_name; do
        echo "$1_param ${p%%:*} \$${p#*:};"
    done > "$work/$1_params"
    echo "$work/$1_params"
}
fparams=$(params fastcgi); uparams=$(params uwsgi)

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
    underscores_in_headers on;
    # restauth_protect verifies locally and (without restauth_api or
    # restauth_check_session) opens no Redis connection; should that change,
    # it meets a socket that does not exist rather than somebody's 6379.
    restauth_redis unix:$work/no-redis.sock;
    restauth_jwt_key HS256 $here/t/keys/hs256.key;
    server {
        listen 127.0.0.1:$nport;
        listen unix:$h2sock http2;

        location /fcgi/ {
            restauth_protect on;
            include $fparams;
            fastcgi_pass 127.0.0.1:$fport;
        }
        location /fcgi-optional/ {
            restauth_protect optional;
            include $fparams;
            fastcgi_pass 127.0.0.1:$fport;
        }
        location /uwsgi/ {
            restauth_protect on;
            include $uparams;
            uwsgi_pass 127.0.0.1:$uport;
        }
        location /uwsgi-optional/ {
            restauth_protect optional;
            include $uparams;
            uwsgi_pass 127.0.0.1:$uport;
        }
        location /grpc/ {
            restauth_protect on;
            grpc_pass grpc://127.0.0.1:$gport;
        }
        location /grpc-optional/ {
            restauth_protect optional;
            grpc_pass grpc://127.0.0.1:$gport;
        }
    }
}
CONF
"$nginx_bin" -p "$work" -c "$work/nginx.conf" -e "$work/logs/error.log" 2> "$work/nginx.err" &
npid=$!
up=0
for _ in $(seq 50); do
    # /fcgi/ without a token: the module answers 401 itself
    curl -s -o /dev/null "http://127.0.0.1:$nport/fcgi/" && [ -S "$h2sock" ] && { up=1; break; }
    sleep 0.1
done
if [ $up -eq 0 ]; then echo "nginx did not start:"; cat "$work/nginx.err"; exit 1; fi

# ---- requests --------------------------------------------------------------------
# The forged identity: every spelling nginx folds into HTTP_X_AUTH_* (or a
# gRPC backend might read as x-auth-*).
cat > "$work/spoof.curlrc" <<'HDRS'
header = "X-Auth-User-Id: 666"
header = "X_Auth_Username: mallory"
header = "x-auth-email: mallory@evil.example"
header = "X-AUTH-USER-ID: 667"
header = "X-Auth-User_Id: 668"
HDRS
printf 'hello=world' > "$work/form"
# A unary gRPC request: uncompressed flag, 4-byte big-endian length, message.
printf '\000\000\000\000\004ping' > "$work/grpc.req"

# req NAME TRANSPORT PATH [curl options...]: the status goes to $work/NAME.code,
# the body (a gRPC message without its 5-byte prefix) to $work/NAME.body.
req() {
    name=$1 transport=$2 path=$3; shift 3
    case $transport in
        h1)   url="http://127.0.0.1:$nport$path"; set -- "$@" ;;
        h2)   url="http://localhost$path"; set -- --http2-prior-knowledge --unix-socket "$h2sock" "$@" ;;
    esac
    case $path in
        /grpc*) set -- -H 'Content-Type: application/grpc' -H 'TE: trailers' "$@"
                case $name in
                    # An early answer (the 401) to an HTTP/2 request whose
                    # body nginx has not read yet comes with RST_STREAM
                    # (NO_ERROR), which curl 7.88 sometimes reports as error
                    # 92 instead of the response -- as for nginx's own
                    # `return 401` or auth_basic.  So no body there.
                    *-h2-none) set -- -X POST "$@" ;;
                    *) set -- --data-binary @"$work/grpc.req" "$@" ;;
                esac ;;
    esac
    curl -s -m 10 -o "$work/$name.raw" -D "$work/$name.headers" -w '%{http_code}' \
        "$@" "$url" > "$work/$name.code"
    case $path in
        /grpc*) tail -c +6 "$work/$name.raw" > "$work/$name.body" ;;
        *)      cp "$work/$name.raw" "$work/$name.body" ;;
    esac
}
code() { cat "$work/$1.code"; }
field() { sed -n "s/^$2=//p" "$work/$1.body" | head -1; }  # NAME KEY
identity() {  # NAME -> the identity lines the backend echoed, on one line
    grep -E '^(HTTP_X_AUTH|x[-_]auth[-_])' "$work/$1.body" | tr '\n' ' ' | sed 's/ $//'
}
backend_hits() { grep -c . "$work/backends.log"; }

fcgi_ident="HTTP_X_AUTH_EMAIL=alice@example.com HTTP_X_AUTH_USERNAME=alice HTTP_X_AUTH_USER_ID=7"
grpc_ident="x-auth-email=alice@example.com x-auth-user-id=7 x-auth-username=alice"

# backend, client protocol (h1: TCP port, h2: prior knowledge on the unix socket), location
for combo in "fastcgi h1 /fcgi" "uwsgi h1 /uwsgi" "grpc h1 /grpc" "grpc h2 /grpc"; do
    set -- $combo
    be=$1 tr=$2 loc=$3
    label="$be ($tr client)"
    case $be in grpc) ident=$grpc_ident ;; *) ident=$fcgi_ident ;; esac

    n="$be-$tr-valid"
    req "$n" "$tr" "$loc/page?q=1" -H "Authorization: Bearer $token"
    check "$label: valid token answers 200" "$(code "$n")" 200
    check "$label: the backend was reached" "$(field "$n" backend)" "$be"
    check "$label: the backend got the request URI" "$(field "$n" uri)" "$loc/page?q=1"
    check "$label: valid token: the backend sees the verified identity" "$(identity "$n")" "$ident"

    n="$be-$tr-spoof"
    req "$n" "$tr" "$loc-optional/page" -K "$work/spoof.curlrc"
    check "$label: forged headers, no token, optional: 200" "$(code "$n")" 200
    check "$label: forged headers, no token: the backend was reached" "$(field "$n" backend)" "$be"
    check "$label: forged headers, no token: the backend sees no identity" "$(identity "$n")" ""

    n="$be-$tr-both"
    case $be in
        # The forged headers come first: the module's removal shifts the
        # headers after them, Authorization and Content-Type among them.
        grpc) req "$n" "$tr" "$loc/page" -K "$work/spoof.curlrc" -H "Authorization: Bearer $token" ;;
        *)    req "$n" "$tr" "$loc/page" -K "$work/spoof.curlrc" -H "Authorization: Bearer $token" \
                  -H 'Content-Type: application/x-www-form-urlencoded' --data-binary @"$work/form" ;;
    esac
    check "$label: valid token plus forged headers: 200" "$(code "$n")" 200
    check "$label: valid token plus forged headers: only the verified identity" \
        "$(identity "$n")" "$ident"
    case $be in
        grpc) check "$label: the gRPC message reached the backend" "$(field "$n" grpc_message)" ping
              check "$label: the request was POST" "$(field "$n" method)" POST
              check "$label: content type intact" "$(field "$n" content_type)" application/grpc ;;
        *)    check "$label: the request body reached the backend" "$(field "$n" body)" 11
              check "$label: the request was POST" "$(field "$n" method)" POST
              check "$label: \$content_type intact after the removal" "$(field "$n" content_type)" \
                  application/x-www-form-urlencoded ;;
    esac

    n="$be-$tr-none"
    before=$(backend_hits)
    req "$n" "$tr" "$loc/page" -K "$work/spoof.curlrc"
    check "$label: no token under restauth_protect on: 401" "$(code "$n")" 401
    if grep -q '"Authentication credentials were not provided."' "$work/$n.raw"; then
        ok "$label: the 401 is the module's JSON"
    else
        fail "$label: 401 body: $(cat "$work/$n.raw")"
    fi
    check "$label: no token: the backend was not asked" "$(backend_hits)" "$before"
done

# The gRPC trailers make it back to an HTTP/2 client.
if grep -qi '^grpc-status: *0' "$work/grpc-h2-valid.headers"; then
    ok "grpc (h2 client): grpc-status 0 trailer passed through"
else
    fail "grpc (h2 client): no grpc-status trailer: $(tr '\r\n' '  ' < "$work/grpc-h2-valid.headers")"
fi
check "grpc: nginx sent te: trailers upstream" "$(field grpc-h2-valid te)" trailers

# ---- logs ------------------------------------------------------------------------
# X-Auth-User-Id and X_Auth_Username were sent with every forged request.
removed=$(grep -ci 'restauth: removed client header "X_Auth_Username"' "$work/logs/error.log")
if [ "$removed" -ge 12 ]; then ok "removals logged ($removed x X_Auth_Username)"; else
    fail "only $removed removals of X_Auth_Username logged"; fi
if grep -E '\[(alert|crit|emerg)\]|signal [0-9]+' "$work/logs/error.log" |
        grep -v 'signal 15\|signal 3 \|signal 17'; then
    fail "error log has alerts or crashes"
else
    ok "no alerts or crashes in the error log"
fi
if grep '\[error\]' "$work/logs/error.log" | grep -v 'restauth: redis connect to'; then
    fail "unexpected errors in the error log"
else
    ok "no errors in the error log (besides the absent Redis)"
fi
if [ -s "$work/backends.err" ]; then
    fail "the backends reported protocol errors: $(cat "$work/backends.err")"
else
    ok "the backends saw well-formed FastCGI, uwsgi and HTTP/2"
fi

[ $failed -eq 0 ] || { keep=1; echo "# logs kept in $work"; }
echo "upstream protocols: $passed passed, $failed failed"
[ $failed -eq 0 ]
