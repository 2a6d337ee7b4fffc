#!/bin/bash
# Concurrent registrations of one name: 30 identical sign-ups (username and
# address in mixed letter case) fired at once, across two workers, must
# create exactly one user -- the Lua script re-checks both indexes.  Then the
# mail stream entries of the self-service endpoints, end to end: the
# verification mail of that registration (its key verifies the address,
# once) and a password reset mail (its uid and token reset the password,
# once; the stored fingerprint matches sha256 of the password hash, which
# checks the SHA-256 the reset script computes in Lua).
#
# Needs the built module (make module), nginx, redis-server, redis-cli, curl.
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
rport=19082; nport=19087
nginx_bin=${TEST_NGINX_BINARY:-/usr/sbin/nginx}
base="http://127.0.0.1:$nport/auth"
stream="restauth:mail"
passed=0; failed=0
npid=

ok()   { passed=$((passed + 1)); echo "ok - $1"; }
fail() { failed=$((failed + 1)); echo "not ok - $1"; }
check() {  # name actual expected
    if [ "$2" = "$3" ]; then ok "$1"; else fail "$1 (got '$2', expected '$3')"; fi
}
rcli() { redis-cli -h 127.0.0.1 -p $rport "$@"; }
post() {  # path json -> prints "<status> <body>"
    local code
    code=$(curl -s -o "$work/post.body" -w '%{http_code}' -H 'Content-Type: application/json' \
           --data "$2" "$base/$1")
    echo "$code $(cat "$work/post.body")"
}
# One field of the n-th (1-based) entry of the mail stream; "" when absent.
mail_field() {
    rcli --raw EVAL "local e = redis.call('XRANGE', KEYS[1], '-', '+')[tonumber(ARGV[1])]
        if not e then return '' end
        for i = 1, #e[2], 2 do if e[2][i] == ARGV[2] then return e[2][i + 1] end end
        return ''" 1 "$stream" "$1" "$2"
}
# How many keys hold the string in their name or anywhere in their value
# (strings, hash fields and values, set, sorted-set and list members, stream
# fields and values), the mail stream excepted: it carries the raw key or
# token to the mailer by design.
stored_anywhere() {
    rcli --raw EVAL "local n = 0
        local function has(s) return s and string.find(s, ARGV[1], 1, true) ~= nil end
        local function any(list) for _, v in ipairs(list) do if has(v) then return true end end return false end
        for _, k in ipairs(redis.call('KEYS', '*')) do
            if k ~= KEYS[1] then
                local t = redis.call('TYPE', k).ok
                local hit = has(k)
                if t == 'string' then hit = hit or has(redis.call('GET', k))
                elseif t == 'hash' then hit = hit or any(redis.call('HGETALL', k))
                elseif t == 'set' then hit = hit or any(redis.call('SMEMBERS', k))
                elseif t == 'zset' then hit = hit or any(redis.call('ZRANGE', k, 0, -1))
                elseif t == 'list' then hit = hit or any(redis.call('LRANGE', k, 0, -1))
                elseif t == 'stream' then
                    for _, e in ipairs(redis.call('XRANGE', k, '-', '+')) do hit = hit or any(e[2]) end
                end
                if hit then n = n + 1 end
            end
        end
        return n" 1 "$stream" "$1"
}
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
    restauth_email_verification optional;
    restauth_password_reset_url "https://app.example.com/reset/{uid}/{token}";
    restauth_email_verify_url "https://app.example.com/verify/{key}";
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

# ---- the race ------------------------------------------------------------------
names=(RaceUser raceuser RACEUSER rAcEuSeR raceUser RACEuser)
emails=(Race@Example.com race@example.com RACE@EXAMPLE.COM race@EXAMPLE.com rAcE@example.COM)
pids=()
for i in $(seq 1 30); do
    n=${names[$((i % ${#names[@]}))]}; e=${emails[$((i % ${#emails[@]}))]}
    curl -s -o "$work/r$i.body" -w '%{http_code}' -H 'Content-Type: application/json' \
        --data "{\"username\": \"$n\", \"email\": \"$e\", \"password1\": \"Race-Pass-2024\", \"password2\": \"Race-Pass-2024\"}" \
        "$base/registration/" > "$work/r$i.code" &
    pids+=($!)
done
wait "${pids[@]}"

created=0; refused=0; other=0
for i in $(seq 1 30); do
    case "$(cat "$work/r$i.code")" in
    201) created=$((created + 1)) ;;
    400) if grep -q '"username": \["A user with that username already exists."\]' "$work/r$i.body" &&
            grep -q '"email": \["A user is already registered with this e-mail address."\]' "$work/r$i.body"; then
             refused=$((refused + 1))
         else
             other=$((other + 1)); echo "# unexpected 400: $(cat "$work/r$i.body")"
         fi ;;
    *) other=$((other + 1)); echo "# unexpected: $(cat "$work/r$i.code") $(cat "$work/r$i.body")" ;;
    esac
done
check "exactly one registration succeeds" "$created" 1
check "the other 29 are refused as taken (username and e-mail)" "$refused" 29
check "no other answers" "$other" 0

echo "# $(grep -c 'registration lost a race' "$work/logs/error.log") of the refusals came from the atomic re-check"
check "one username index entry" "$(rcli HLEN restauth:users:by_username)" 1
check "one e-mail index entry" "$(rcli HLEN restauth:users:by_email)" 1
check "one user hash" "$(rcli --scan --pattern 'restauth:user:*' | grep -vc ':sessions$')" 1
check "the id counter moved once" "$(rcli GET restauth:users:next_id)" 1
check "index holds the folded name" "$(rcli HGET restauth:users:by_username raceuser)" 1
check "index holds the folded address" "$(rcli HGET restauth:users:by_email race@example.com)" 1
uname=$(rcli HGET restauth:user:1 username)
umail=$(rcli HGET restauth:user:1 email)
case "$uname" in [Rr][Aa][Cc][Ee][Uu][Ss][Ee][Rr]) ok "stored username is one of the submitted spellings ($uname)" ;;
    *) fail "stored username '$uname'" ;; esac
case "$umail" in *@example.com) ok "stored address has a lower-cased domain ($umail)" ;;
    *) fail "stored address '$umail'" ;; esac
check "new user is active" "$(rcli HGET restauth:user:1 is_active)" 1
check "new user is unverified" "$(rcli HGET restauth:user:1 email_verified)" 0
check "new user has a session (logged in as at login)" "$(rcli ZCARD restauth:user:1:sessions)" 1

# ---- the verification mail -----------------------------------------------------
check "one mail queued (the winner's verification)" "$(rcli XLEN $stream)" 1
check "verification mail: to" "$(mail_field 1 to)" "$umail"
check "verification mail: kind" "$(mail_field 1 kind)" email_verification
subject=$(mail_field 1 subject)
[ -n "$subject" ] && ok "verification mail: subject ($subject)" || fail "verification mail: no subject"
key=$(mail_field 1 key)
if [[ "$key" =~ ^[A-Za-z0-9_-]{43}$ ]]; then ok "verification mail: key is 32 random bytes, base64url"; else fail "verification mail: key '$key'"; fi
if mail_field 1 body | grep -qF "https://app.example.com/verify/$key"; then ok "verification mail: body has the link"
else fail "verification mail: body '$(mail_field 1 body)'"; fi
vrec="restauth:verify:$(printf %s "$key" | sha256sum | cut -d' ' -f1)"
check "verification record under the key's digest: user" "$(rcli HGET "$vrec" user_id)" 1
check "verification record: address" "$(rcli HGET "$vrec" email)" "$umail"
ttl=$(rcli TTL "$vrec")
if [ "$ttl" -gt 0 ] && [ "$ttl" -le 259200 ]; then ok "verification record expires (ttl $ttl)"; else fail "verification ttl $ttl"; fi
check "the raw key is stored nowhere (key names and values)" "$(stored_anywhere "$key")" 0
check "the scan finds a key name (its own control: the key's digest)" \
    "$(stored_anywhere "$(printf %s "$key" | sha256sum | cut -d' ' -f1)")" 1

check "verify-email with the mailed key" "$(post registration/verify-email/ "{\"key\": \"$key\"}")" '200 {"detail": "ok"}'
check "address now verified" "$(rcli HGET restauth:user:1 email_verified)" 1
check "verification record gone" "$(rcli EXISTS "$vrec")" 0
check "the key works once" "$(post registration/verify-email/ "{\"key\": \"$key\"}")" '404 {"detail": "Not found."}'
check "resend for a verified address: ok, no mail" "$(post registration/resend-email/ '{"email": "RACE@example.com"}')" '200 {"detail": "ok"}'
check "still one mail" "$(rcli XLEN $stream)" 1

# ---- the password reset mail ---------------------------------------------------
check "reset for an unknown address" "$(post password/reset/ '{"email": "nobody@example.com"}')" \
    '200 {"detail": "Password reset e-mail has been sent."}'
check "no mail for an unknown address" "$(rcli XLEN $stream)" 1
check "reset for the new user (any case)" "$(post password/reset/ '{"email": "RACE@Example.COM"}')" \
    '200 {"detail": "Password reset e-mail has been sent."}'
check "reset mail queued" "$(rcli XLEN $stream)" 2
check "reset mail: to" "$(mail_field 2 to)" "$umail"
check "reset mail: kind" "$(mail_field 2 kind)" password_reset
check "reset mail: uid is urlsafe_base64 of the pk" "$(mail_field 2 uid)" MQ
token=$(mail_field 2 token)
if [[ "$token" =~ ^[A-Za-z0-9_-]{43}$ ]]; then ok "reset mail: token is 32 random bytes, base64url"; else fail "reset mail: token '$token'"; fi
if mail_field 2 body | grep -qF "https://app.example.com/reset/MQ/$token"; then ok "reset mail: body has the link"
else fail "reset mail: body '$(mail_field 2 body)'"; fi
rrec="restauth:reset:$(printf %s "$token" | sha256sum | cut -d' ' -f1)"
check "reset record under the token's digest: user" "$(rcli HGET "$rrec" user_id)" 1
hash=$(rcli HGET restauth:user:1 password)
check "reset record: pwfp is sha256 of the password hash" "$(rcli HGET "$rrec" pwfp)" \
    "$(printf %s "$hash" | sha256sum | cut -d' ' -f1)"
ttl=$(rcli TTL "$rrec")
if [ "$ttl" -gt 0 ] && [ "$ttl" -le 86400 ]; then ok "reset record expires (ttl $ttl)"; else fail "reset ttl $ttl"; fi
check "the raw token is stored nowhere (key names and values)" "$(stored_anywhere "$token")" 0
check "the scan finds a stored value (its own control: the password hash)" \
    "$(stored_anywhere "$(rcli HGET restauth:user:1 password)")" 1

confirm="{\"uid\": \"MQ\", \"token\": \"$token\", \"new_password1\": \"Race-New-Pass-2025\", \"new_password2\": \"Race-New-Pass-2025\"}"
check "reset confirm with the mailed uid and token" "$(post password/reset/confirm/ "$confirm")" \
    '200 {"detail": "Password has been reset with the new password."}'
check "reset record gone" "$(rcli EXISTS "$rrec")" 0
check "sessions revoked by the reset" "$(rcli ZCARD restauth:user:1:sessions)" 0
check "the token works once" "$(post password/reset/confirm/ "$confirm")" '400 {"token": ["Invalid value"]}'
out=$(post login/ "{\"username\": \"$uname\", \"password\": \"Race-New-Pass-2025\"}")
case "$out" in "200 "*'"user": {"pk": 1,'*) ok "login with the new password" ;; *) fail "login with the new password: $out" ;; esac

# ---- logs ------------------------------------------------------------------------
check "one registration logged" "$(grep -c 'restauth: registered user 1,' "$work/logs/error.log")" 1
check "mails logged by kind and user" "$(grep -cE 'restauth: queued (email_verification|password_reset) mail for user 1,' "$work/logs/error.log")" 2
if grep -qF -e "$key" -e "$token" -e Race-Pass-2024 -e Race-New-Pass-2025 "$work/logs/error.log"; then
    fail "a key, token or password appears in the error log"
else
    ok "no key, token or password in the error log"
fi
if grep -E '\[(alert|crit|emerg)\]|signal [0-9]+' "$work/logs/error.log" | grep -v 'signal 15\|signal 3 \|signal 17'; then
    fail "error log has alerts or crashes"
else
    ok "no alerts or crashes in the error log"
fi

echo "registration race: $passed passed, $failed failed"
[ $failed -eq 0 ]
