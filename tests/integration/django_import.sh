#!/bin/sh
# Users moved from Django log in with their old passwords.  A fresh Redis is
# filled by `restauth-user import-django tests/fixtures/django_users.json`
# (Django's 260000-iteration PBKDF2 hashes kept as they are); nginx runs with
# restauth_password_iterations at its default, 600000.  Then, through
# POST /auth/login/:
#   - each imported active user with a known password logs in with the old
#     password: 200, and the user's pk is the Django id;
#   - their stored hashes are upgraded to pbkdf2_sha256$600000$ (new salt,
#     same password), and logging in again still works and changes nothing;
#   - the inactive user (dave), an inactive user with a correct password
#     (ivan, imported from a file made here), a user the import skipped (eve:
#     e-mail taken) and one with a foreign hash (frank: argon2) all get
#     Django's 400 "Unable to log in with provided credentials.", and their
#     records are left alone.
# The plaintext passwords are FIXTURE_PASSWORDS in tests/scripts/test_scripts.py.
#
# Needs the built module (make module), nginx, redis-server, redis-cli, curl,
# Debian's python3 with python3-redis.  Ports 127.0.0.1:19067 (redis),
# 19068 (nginx).
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d); chmod 755 "$work"
rport=19067; nport=19068
nginx_bin=${TEST_NGINX_BINARY:-/usr/sbin/nginx}
python=/usr/bin/python3
fixture="$here/tests/fixtures/django_users.json"
api="http://127.0.0.1:$nport/auth"
P="restauth:"
failed_msg='{"non_field_errors": ["Unable to log in with provided credentials."]}'
passed=0; failed=0
npid=

ok()   { passed=$((passed + 1)); echo "ok - $1"; }
fail() { failed=$((failed + 1)); echo "not ok - $1"; }
check() {  # name actual expected
    if [ "$2" = "$3" ]; then ok "$1"; else fail "$1 (got '$2', expected '$3')"; fi
}
rcli() { redis-cli -h 127.0.0.1 -p $rport --raw "$@"; }

cleanup() {
    if [ -n "$npid" ]; then kill "$npid" 2>/dev/null; wait "$npid" 2>/dev/null; fi
    if [ -f "$work/redis.pid" ]; then
        rpid=$(cat "$work/redis.pid")
        if kill "$rpid" 2>/dev/null; then
            while kill -0 "$rpid" 2>/dev/null; do sleep 0.05; done
        fi
    fi
    [ "${keep:-0}" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- the plaintext passwords, from the script tests --------------------------------
"$python" - "$here/tests/scripts/test_scripts.py" > "$work/passwords" <<'PY' || exit 1
import ast, sys
with open(sys.argv[1], encoding="utf-8") as f:
    tree = ast.parse(f.read())
for node in tree.body:
    if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "FIXTURE_PASSWORDS"
                                            for t in node.targets):
        for name, pw in ast.literal_eval(node.value).items():
            print("%s\t%s" % (name, pw))
        break
else:
    sys.exit("FIXTURE_PASSWORDS not found in " + sys.argv[1])
PY
password() { awk -F '\t' -v u="$1" '$1 == u { print $2 }' "$work/passwords"; }

# ---- Redis and the import ----------------------------------------------------------
redis-server --port $rport --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize yes --pidfile "$work/redis.pid" --logfile "$work/redis.log"
up=0
for _ in $(seq 50); do rcli PING >/dev/null 2>&1 && { up=1; break; }; sleep 0.1; done
[ $up -eq 1 ] || { echo "redis-server did not start on port $rport"; exit 1; }

out=$("$here/scripts/restauth-user" --redis 127.0.0.1:$rport import-django "$fixture" 2> "$work/import.err")
check "import-django exits 0" "$?" 0
check "import-django: 4 users imported (eve's e-mail is taken, auth.group skipped)" \
    "$(echo "$out" | tail -1)" "imported 4, skipped 2"

# An inactive user whose password is known: made here like Django would,
# pbkdf2_sha256 at 260000 iterations.
"$python" - > "$work/inactive.json" <<'PY'
import base64, hashlib, json
salt = "InactiveSaltInactive01"
dk = hashlib.pbkdf2_hmac("sha256", b"ivan-password-1", salt.encode(), 260000)
print(json.dumps([{"model": "auth.user", "pk": 100, "fields": {
    "password": "pbkdf2_sha256$260000$%s$%s" % (salt, base64.b64encode(dk).decode()),
    "last_login": None, "is_superuser": False, "username": "ivan", "first_name": "",
    "last_name": "", "email": "ivan@example.com", "is_staff": False, "is_active": False,
    "date_joined": "2023-01-01T00:00:00Z", "groups": [], "user_permissions": []}}]))
PY
out=$("$here/scripts/restauth-user" --redis 127.0.0.1:$rport import-django "$work/inactive.json" 2>&1)
check "import-django of an inactive user" "$(echo "$out" | tail -1)" "imported 1, skipped 0"

for uid in 1 5 100; do
    case $(rcli HGET "${P}user:$uid" password) in
        'pbkdf2_sha256$260000$'*) ok "user $uid: the Django hash (260000 iterations) was kept" ;;
        *) fail "user $uid: stored hash is not Django's 260000-iteration one" ;;
    esac
done
old_admin=$(rcli HGET "${P}user:1" password)
old_carol=$(rcli HGET "${P}user:5" password)
old_dave=$(rcli HGET "${P}user:42" password)
old_ivan=$(rcli HGET "${P}user:100" password)
old_frank=$(rcli HGET "${P}user:7" password)
old_admin_login=$(rcli HGET "${P}user:1" last_login)

# ---- nginx ---------------------------------------------------------------------
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
    # restauth_password_iterations stays at its default, 600000.
    server {
        listen 127.0.0.1:$nport;
        location /auth/ { restauth_api; }
    }
}
CONF
"$nginx_bin" -p "$work" -c "$work/nginx.conf" -e "$work/logs/error.log" 2> "$work/nginx.err" &
npid=$!
up=0
for _ in $(seq 50); do curl -s "$api/health/" >/dev/null && { up=1; break; }; sleep 0.1; done
[ $up -eq 1 ] || { echo "nginx did not start:"; cat "$work/nginx.err"; exit 1; }

# ---- helpers -------------------------------------------------------------------
# login FIELD NAME PASSWORD: POST /auth/login/; the body goes to $work/login.body,
# the status is printed.
login() {
    body=$("$python" -c 'import json, sys; print(json.dumps({sys.argv[1]: sys.argv[2], "password": sys.argv[3]}))' "$1" "$2" "$3")
    curl -s -m 60 -o "$work/login.body" -w '%{http_code}' -H 'Content-Type: application/json' \
        --data "$body" "$api/login/"
}
# jget FILE KEY...: a member of a JSON document ("" when absent)
jget() {
    "$python" - "$@" <<'PY'
import json, sys
try:
    with open(sys.argv[1], encoding="utf-8") as f:
        d = json.load(f)
    for k in sys.argv[2:]:
        d = d[k]
    print(d)
except (ValueError, KeyError, TypeError, OSError):
    print("")
PY
}
# hash_ok PASSWORD HASH: "ok" when HASH is Django's pbkdf2_sha256 of PASSWORD
hash_ok() {
    "$python" - "$1" "$2" <<'PY'
import base64, hashlib, hmac, sys
try:
    alg, it, salt, b64 = sys.argv[2].split("$")
    dk = hashlib.pbkdf2_hmac("sha256", sys.argv[1].encode(), salt.encode(), int(it))
    good = alg == "pbkdf2_sha256" and hmac.compare_digest(base64.b64encode(dk).decode(), b64)
except ValueError:
    good = False
print("ok" if good else "mismatch")
PY
}
salt_of() { echo "$1" | cut -d'$' -f3; }

# ---- imported active users log in with their old passwords -------------------------
for pair in admin:1 Carol.Smith:5; do
    name=${pair%:*} uid=${pair#*:}
    pw=$(password "$name")
    [ -n "$pw" ] || { fail "no password for $name in FIXTURE_PASSWORDS"; continue; }
    check "$name logs in with the Django password" "$(login username "$name" "$pw")" 200
    check "$name: pk is the Django id" "$(jget "$work/login.body" user pk)" "$uid"
    check "$name: username" "$(jget "$work/login.body" user username)" "$name"
    access=$(jget "$work/login.body" access)
    code=$(curl -s -o "$work/user.body" -w '%{http_code}' -H "Authorization: Bearer $access" "$api/user/")
    check "$name: GET /auth/user/ with the new access token" "$code $(jget "$work/user.body" pk)" "200 $uid"
done
check "Carol.Smith's profile came across" \
    "$(jget "$work/user.body" first_name) $(jget "$work/user.body" email)" "Carol carol@example.org"

for pair in admin:1 Carol.Smith:5; do
    name=${pair%:*} uid=${pair#*:}
    new=$(rcli HGET "${P}user:$uid" password)
    case $new in
        'pbkdf2_sha256$600000$'*) ok "$name: hash upgraded to pbkdf2_sha256\$600000\$" ;;
        *) fail "$name: hash not upgraded (starts '$(echo "$new" | cut -d'$' -f1-2)')" ;;
    esac
    check "$name: the upgraded hash is of the same password" "$(hash_ok "$(password "$name")" "$new")" ok
    case $uid in 1) old=$old_admin ;; *) old=$old_carol ;; esac
    if [ "$(salt_of "$new")" != "$(salt_of "$old")" ]; then ok "$name: new salt"; else
        fail "$name: the salt is unchanged"; fi
    if grep -q "upgraded password hash of user $uid\b" "$work/logs/error.log"; then
        ok "$name: the upgrade is logged"; else fail "$name: upgrade not logged"; fi
done
last=$(rcli HGET "${P}user:1" last_login)
if [ -n "$last" ] && [ "$last" != "$old_admin_login" ]; then ok "admin: last_login updated ($last)"; else
    fail "admin: last_login '$last' (was '$old_admin_login')"; fi
[ -n "$(rcli HGET "${P}user:5" last_login)" ] && ok "Carol.Smith: last_login set" ||
    fail "Carol.Smith: last_login still empty"

# ---- and again, on the upgraded hashes ------------------------------------------
upgraded_admin=$(rcli HGET "${P}user:1" password)
upgraded_carol=$(rcli HGET "${P}user:5" password)
check "admin logs in again" "$(login username admin "$(password admin)") $(jget "$work/login.body" user pk)" "200 1"
check "Carol.Smith logs in again" \
    "$(login username Carol.Smith "$(password Carol.Smith)") $(jget "$work/login.body" user pk)" "200 5"
check "admin logs in by e-mail" \
    "$(login email admin@example.com "$(password admin)") $(jget "$work/login.body" user pk)" "200 1"
check "a second login does not rehash (admin)" "$(rcli HGET "${P}user:1" password)" "$upgraded_admin"
check "a second login does not rehash (Carol.Smith)" "$(rcli HGET "${P}user:5" password)" "$upgraded_carol"
check "upgrade logged once per user" "$(grep -c 'upgraded password hash of user' "$work/logs/error.log")" 2
check "admin with a wrong password" "$(login username admin 'correct horse battery!') $(cat "$work/login.body")" \
    "400 $failed_msg"

# ---- users who must not get in -------------------------------------------------
check "dave (inactive, unusable password) is refused" \
    "$(login username dave 'any-password-1') $(cat "$work/login.body")" "400 $failed_msg"
check "ivan (inactive) is refused with the right password" \
    "$(login username ivan 'ivan-password-1') $(cat "$work/login.body")" "400 $failed_msg"
check "eve (not imported: e-mail taken) is refused" \
    "$(login username eve "$(password eve)") $(cat "$work/login.body")" "400 $failed_msg"
check "frank@home (argon2 hash) is refused" \
    "$(login username frank@home 'frank-password-1') $(cat "$work/login.body")" "400 $failed_msg"
check "dave's record is untouched" "$(rcli HGET "${P}user:42" password)" "$old_dave"
check "ivan's hash is not upgraded by a refused login" "$(rcli HGET "${P}user:100" password)" "$old_ivan"
check "frank's argon2 hash is kept" "$(rcli HGET "${P}user:7" password)" "$old_frank"
check "no session for refused users" \
    "$(rcli EXISTS "${P}user:42:sessions" "${P}user:100:sessions" "${P}user:7:sessions")" 0
check "eve has no record" "$(rcli EXISTS "${P}user:43")" 0

# ---- logs ------------------------------------------------------------------------
if grep -qF -e "$(password admin)" -e "$(password Carol.Smith)" -e ivan-password-1 "$work/logs/error.log"; then
    fail "a password appears in the error log"
else
    ok "no password in the error log"
fi
if grep -E '\[(alert|crit|emerg)\]|signal [0-9]+' "$work/logs/error.log" |
        grep -v 'signal 15\|signal 3 \|signal 17'; then
    fail "error log has alerts or crashes"
else
    ok "no alerts or crashes in the error log"
fi

[ $failed -eq 0 ] || { keep=1; echo "# logs kept in $work"; }
echo "django import: $passed passed, $failed failed"
[ $failed -eq 0 ]
