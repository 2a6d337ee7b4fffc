// registration/, registration/verify-email/, registration/resend-email/,
// password/reset/, password/reset/confirm/: dj-rest-auth's self-service
// endpoints (allauth's RegisterSerializer and e-mail confirmation, Django's
// password reset).
//
// Reset tokens and verification keys are 32 random bytes (base64url) handed
// out only in mail; Redis holds their SHA-256 digests, never the raw values:
//
//     P reset:<sha256_hex(token)>   hash {user_id, pwfp}  TTL reset_token_lifetime
//     P verify:<sha256_hex(key)>    hash {user_id, email} TTL verify_token_lifetime
//
// pwfp is sha256_hex of the user's password hash at the time of the request,
// so any password change (API, reset, CLI) voids outstanding reset tokens, as
// Django's token generator does.  Mail is an XADD to the mail stream in the
// same Lua script as the record it refers to.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "body.h"
#include "crypto.h"
#include "encoding.h"
#include "endpoint_util.h"
#include "endpoints.h"
#include "json.h"
#include "password.h"
#include "rate_limit.h"
#include "responses.h"
#include "restauth.h"
#include "tokens.h"
#include "user_store.h"
#include "validation.h"

namespace restauth {

namespace {

constexpr const char *kInvalidValue = "Invalid value";
constexpr const char *kUsernameTaken = "A user with that username already exists.";
constexpr const char *kEmailTaken = "A user is already registered with this e-mail address.";
constexpr const char *kResetSent = "Password reset e-mail has been sent.";
constexpr const char *kSubjectReset = "Password reset";
constexpr const char *kSubjectVerify = "Confirm your e-mail address";

}  // namespace

// ---- Lua --------------------------------------------------------------------

// SHA-256 (hex) and base64url in Redis's Lua 5.1 with its "bit" library: the
// reset script fingerprints a password hash it has just read and encodes the
// user id for the link, all in the one atomic step.
const char *const kLuaHelpers = R"lua(
local band, bor, bxor, bnot = bit.band, bit.bor, bit.bxor, bit.bnot
local lshift, rshift, ror, tobit = bit.lshift, bit.rshift, bit.ror, bit.tobit
local K = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
}
local function sha256_hex(msg)
  local bits = #msg * 8
  msg = msg .. '\128' .. string.rep('\0', (55 - #msg) % 64) .. '\0\0\0\0' ..
        string.char(band(rshift(bits, 24), 255), band(rshift(bits, 16), 255),
                    band(rshift(bits, 8), 255), band(bits, 255))
  local H = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19}
  local w = {}
  for i = 1, #msg, 64 do
    for j = 0, 15 do
      local b1, b2, b3, b4 = string.byte(msg, i + 4 * j, i + 4 * j + 3)
      w[j] = bor(lshift(b1, 24), lshift(b2, 16), lshift(b3, 8), b4)
    end
    for j = 16, 63 do
      local x, y = w[j - 15], w[j - 2]
      w[j] = tobit(w[j - 16] + bxor(ror(x, 7), ror(x, 18), rshift(x, 3)) + w[j - 7] +
                   bxor(ror(y, 17), ror(y, 19), rshift(y, 10)))
    end
    local a, b, c, d, e, f, g, h = H[1], H[2], H[3], H[4], H[5], H[6], H[7], H[8]
    for j = 0, 63 do
      local t1 = tobit(h + bxor(ror(e, 6), ror(e, 11), ror(e, 25)) + bxor(band(e, f), band(bnot(e), g)) +
                       K[j + 1] + w[j])
      local t2 = tobit(bxor(ror(a, 2), ror(a, 13), ror(a, 22)) + bxor(band(a, b), band(a, c), band(b, c)))
      h, g, f, e, d, c, b, a = g, f, e, tobit(d + t1), c, b, a, tobit(t1 + t2)
    end
    H[1], H[2], H[3], H[4] = tobit(H[1] + a), tobit(H[2] + b), tobit(H[3] + c), tobit(H[4] + d)
    H[5], H[6], H[7], H[8] = tobit(H[5] + e), tobit(H[6] + f), tobit(H[7] + g), tobit(H[8] + h)
  end
  local out = {}
  for i = 1, 8 do out[i] = bit.tohex(H[i], 8) end
  return table.concat(out)
end
local function b64url(s)
  local alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  local out = {}
  for i = 1, #s, 3 do
    local b1, b2, b3 = string.byte(s, i, i + 2)
    local n = b1 * 65536 + (b2 or 0) * 256 + (b3 or 0)
    local chars = b3 and 4 or (b2 and 3 or 2)
    for j = 1, chars do
      local v = math.floor(n / 2 ^ (18 - 6 * (j - 1))) % 64
      out[#out + 1] = string.sub(alphabet, v + 1, v + 1)
    end
  end
  return table.concat(out)
end
)lua";

// Registration.  KEYS: next_id, by_username, by_email.
// ARGV: 1 prefix, 2 folded username, 3 folded email, 4 verification key
// digest ('' = no verification), 5 its ttl, 6 mail stream, 7 stored email,
// 8 n = number of mail field/value arguments, 9..8+n mail fields, then the
// user's field/value pairs.
// Returns the new id, or -1 (username taken), -2 (email taken), -3 (both);
// nothing is written then.
const char *const kLuaRegister = R"lua(
local taken = 0
if redis.call('HEXISTS', KEYS[2], ARGV[2]) == 1 then taken = taken + 1 end
if redis.call('HEXISTS', KEYS[3], ARGV[3]) == 1 then taken = taken + 2 end
if taken ~= 0 then return -taken end
local id = redis.call('INCR', KEYS[1])
while redis.call('EXISTS', ARGV[1] .. 'user:' .. id) == 1 do id = redis.call('INCR', KEYS[1]) end
local n = tonumber(ARGV[8])
redis.call('HSET', ARGV[1] .. 'user:' .. id, 'id', id, unpack(ARGV, 9 + n))
redis.call('HSET', KEYS[2], ARGV[2], id)
redis.call('HSET', KEYS[3], ARGV[3], id)
if ARGV[4] ~= '' then
  local vkey = ARGV[1] .. 'verify:' .. ARGV[4]
  redis.call('HSET', vkey, 'user_id', id, 'email', ARGV[7])
  redis.call('EXPIRE', vkey, ARGV[5])
  redis.call('XADD', ARGV[6], '*', unpack(ARGV, 9, 8 + n))
end
return id
)lua";

// Resend verification.  KEYS: by_email.
// ARGV: prefix, folded email, key digest, ttl, mail stream, then mail
// field/value pairs ('to' is added from the user's record).
// Returns the user id when a mail was queued, else 0.
const char *const kLuaResendVerification = R"lua(
local id = redis.call('HGET', KEYS[1], ARGV[2])
if not id then return 0 end
local u = redis.call('HMGET', ARGV[1] .. 'user:' .. id, 'email', 'email_verified')
if not u[1] or u[1] == '' or u[2] == '1' then return 0 end
local vkey = ARGV[1] .. 'verify:' .. ARGV[3]
redis.call('HSET', vkey, 'user_id', id, 'email', u[1])
redis.call('EXPIRE', vkey, ARGV[4])
redis.call('XADD', ARGV[5], '*', 'to', u[1], unpack(ARGV, 6))
return tonumber(id)
)lua";

// Confirm a verification key.  KEYS: the key's record.  ARGV: prefix.
// Returns the user id; 0 unknown key; -1 the user is gone or no longer has
// the address the key was sent to.  A known key is deleted either way.
const char *const kLuaVerifyEmail = R"lua(
local rec = redis.call('HMGET', KEYS[1], 'user_id', 'email')
if not rec[1] then return 0 end
redis.call('DEL', KEYS[1])
local ukey = ARGV[1] .. 'user:' .. rec[1]
if redis.call('HGET', ukey, 'email') ~= rec[2] then return -1 end
redis.call('HSET', ukey, 'email_verified', '1')
return tonumber(rec[1])
)lua";

// Password reset request.  KEYS: by_email.
// ARGV: 1 prefix, 2 folded email, 3 token digest, 4 ttl, 5 mail stream,
// 6 n = number of body parts, 7..6+n the body split where the uid goes,
// then further mail field/value pairs ('to', 'body' and 'uid' are added).
// Only active users with a usable password get a token.  Returns the user
// id when a mail was queued, else 0.
const std::string kLuaRequestReset = std::string(kLuaHelpers) + R"lua(
local id = redis.call('HGET', KEYS[1], ARGV[2])
if not id then return 0 end
local u = redis.call('HMGET', ARGV[1] .. 'user:' .. id, 'email', 'password', 'is_active')
if not u[1] or u[1] == '' or u[3] ~= '1' or not u[2] or u[2] == '' or string.sub(u[2], 1, 1) == '!' then
  return 0
end
local uid = b64url(id)
local n = tonumber(ARGV[6])
local body = table.concat({unpack(ARGV, 7, 6 + n)}, uid)
local rkey = ARGV[1] .. 'reset:' .. ARGV[3]
redis.call('HSET', rkey, 'user_id', id, 'pwfp', sha256_hex(u[2]))
redis.call('EXPIRE', rkey, ARGV[4])
redis.call('XADD', ARGV[5], '*', 'to', u[1], 'body', body, 'uid', uid, unpack(ARGV, 7 + n))
return tonumber(id)
)lua";

// Password reset confirmation.  KEYS: token record, user, user's session set.
// ARGV: user id, the password hash the token was checked against, its pwfp,
// new hash, prefix, revoke all sessions (0|1).
// Returns 1, or -1 when the token is no longer valid (used, expired, or the
// password changed meanwhile).
const char *const kLuaResetPassword = R"lua(
local rec = redis.call('HMGET', KEYS[1], 'user_id', 'pwfp')
if rec[1] ~= ARGV[1] or rec[2] ~= ARGV[3] then return -1 end
if redis.call('HGET', KEYS[2], 'password') ~= ARGV[2] then return -1 end
redis.call('HSET', KEYS[2], 'password', ARGV[4])
redis.call('DEL', KEYS[1])
if ARGV[6] == '1' then
  for _, sid in ipairs(redis.call('SMEMBERS', KEYS[3])) do
    redis.call('DEL', ARGV[5] .. 'session:' .. sid)
  end
  redis.call('DEL', KEYS[3])
end
return 1
)lua";

namespace {

// ---- helpers ----------------------------------------------------------------

// A required DRF CharField: the message for a missing/blank/invalid value,
// "" when the value is fine.
std::string_view read_char(const Fields &fields, std::string_view name, std::string &out)
{
    return char_field_message(get_char_field(fields, name, out));
}


// 32 random bytes, base64url: a reset token or verification key.  "" when
// the CSPRNG fails.
std::string random_token()
{
    unsigned char raw[32];
    if (!random_bytes(raw, sizeof(raw))) return {};
    return base64url_encode(std::string_view(reinterpret_cast<const char *>(raw), sizeof(raw)));
}

void replace_all(std::string &text, std::string_view from, std::string_view to)
{
    for (size_t pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos + to.size())) {
        text.replace(pos, from.size(), to);
    }
}

// Django's urlsafe_base64_decode(uid) as the decimal pk; strict: the only
// accepted spelling of a pk is what the reset mail carries.
bool parse_uid(std::string_view uid, int64_t &id)
{
    std::string digits;
    if (!base64url_decode(uid, digits) || digits.empty() || digits.size() > 18 || digits[0] == '0') return false;
    int64_t v = 0;
    for (char c : digits) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + (c - '0');
    }
    id = v;
    return true;
}

// The text of a password reset mail, split where the uid goes (the uid is
// known only inside the Lua script that finds the user).
std::vector<std::string> reset_body_parts(const Settings &s, std::string_view token)
{
    std::string body = "You are receiving this e-mail because a password reset was requested for your account.\n\n";
    if (!s.password_reset_url.empty()) {
        std::string link = s.password_reset_url;
        replace_all(link, "{token}", token);
        body += "Open this link to choose a new password:\n\n" + link + "\n";
    } else {
        body += "Use these values to choose a new password:\n\nuid: {uid}\ntoken: " + std::string(token) + "\n";
    }
    body += "\nIf you did not ask for it, ignore this e-mail; your password stays unchanged.\n";

    std::vector<std::string> parts;
    constexpr std::string_view marker = "{uid}";
    size_t start = 0;
    for (size_t pos = body.find(marker); pos != std::string::npos; pos = body.find(marker, start)) {
        parts.push_back(body.substr(start, pos - start));
        start = pos + marker.size();
    }
    parts.push_back(body.substr(start));
    return parts;
}

std::string verify_body(const Settings &s, std::string_view key)
{
    std::string body = "Please confirm your e-mail address";
    if (!s.email_verify_url.empty()) {
        std::string link = s.email_verify_url;
        replace_all(link, "{key}", key);
        body += " by opening this link:\n\n" + link + "\n";
    } else {
        body += " with this key:\n\nkey: " + std::string(key) + "\n";
    }
    body += "\nIf you did not sign up, ignore this e-mail.\n";
    return body;
}

void log_mail(Call &call, std::string_view kind, long long user_id)
{
    call.log(RESTAUTH_LOG_INFO, "queued " + std::string(kind) + " mail for user " + std::to_string(user_id));
}

void respond_errors(Call &call, const FieldErrors &errors)
{
    call.respond(400, errors.to_json());
}

}  // namespace

// ---- registration/ ----------------------------------------------------------

Task<void> registration(Call &call)
{
    Fields fields;
    if (!read_fields(call, fields)) co_return;
    {
        std::vector<std::pair<Limit, std::string>> limits{{Limit::RegistrationIp, call.request().client_ip}};
        if (!co_await take_limits(call, std::move(limits))) co_return;
    }

    const Settings &s = call.settings();
    Keys keys = keys_of(call);
    PasswordPolicy policy = password_policy(call);

    // Field-level validation, in the serializer's field order.  Uniqueness
    // is checked only for values that are well-formed, as allauth does.
    std::string username, email, password1, password2;
    std::vector<std::string> username_errors, email_errors, password1_errors, password2_errors;
    if (auto m = read_char(fields, "username", username); !m.empty()) {
        username_errors.emplace_back(m);
    } else {
        username_errors = validate_username(username);
    }
    if (auto m = read_char(fields, "email", email); !m.empty()) {
        email_errors.emplace_back(m);
    } else if (!is_valid_email(email)) {
        email_errors.emplace_back(MSG_INVALID_EMAIL);
    } else {
        email = normalize_email(email);
    }
    if (auto m = read_char(fields, "password1", password1); !m.empty()) {
        password1_errors.emplace_back(m);
    } else {
        password1_errors = validate_password(password1, nullptr, policy);
    }
    if (auto m = read_char(fields, "password2", password2); !m.empty()) password2_errors.emplace_back(m);

    bool check_username = username_errors.empty();
    bool check_email = email_errors.empty();
    std::string folded_username = check_username ? fold_case(username) : std::string();
    std::string folded_email = check_email ? fold_case(email) : std::string();
    if (check_username || check_email) {
        std::vector<Command> lookups;
        if (check_username) lookups.push_back({"HEXISTS", keys.by_username(), folded_username});
        if (check_email) lookups.push_back({"HEXISTS", keys.by_email(), folded_email});
        auto found = co_await call.redis(std::move(lookups));
        size_t i = 0;
        if (check_username && found[i++].integer == 1) username_errors.emplace_back(kUsernameTaken);
        if (check_email && found[i].integer == 1) email_errors.emplace_back(kEmailTaken);
    }

    FieldErrors errors;
    errors.add("username", username_errors);
    errors.add("email", email_errors);
    errors.add("password1", password1_errors);
    errors.add("password2", password2_errors);
    if (!errors.empty()) {
        respond_errors(call, errors);
        co_return;
    }

    // The serializer's validate(), then allauth's clean_password(user=...)
    // in save(): with the user's attributes only similarity can fail anew.
    if (password1 != password2) {
        errors.add(NON_FIELD_ERRORS, "The two password fields didn't match.");
        respond_errors(call, errors);
        co_return;
    }
    User user;
    user.username = username;
    user.email = email;
    UserAttributes attrs = attributes_of(user);
    errors.add(NON_FIELD_ERRORS, validate_password(password1, &attrs, policy));
    if (!errors.empty()) {
        respond_errors(call, errors);
        co_return;
    }

    co_await call.job([&] { user.password = make_password_hash(password1, s.password_iterations); });
    bool verify = s.email_verification != EmailVerification::None;
    std::string key = verify ? random_token() : std::string();
    if (user.password.empty() || (verify && key.empty())) {
        call.log(RESTAUTH_LOG_ERR, "registration: hashing or random generation failed");
        call.respond(500, error_body(500));
        co_return;
    }

    user.date_joined = iso8601(call.now());
    Command cmd{"EVAL", kLuaRegister, "3", keys.next_id(), keys.by_username(), keys.by_email(),
                keys.prefix(), folded_username, folded_email,
                verify ? sha256_hex(key) : std::string(), std::to_string(s.verify_token_lifetime), s.mail_stream,
                email};
    std::vector<std::string> mail;
    if (verify) {
        mail = {"to", email, "subject", kSubjectVerify, "body", verify_body(s, key),
                "kind", "email_verification", "key", key};
    }
    cmd.push_back(std::to_string(mail.size()));
    cmd.insert(cmd.end(), mail.begin(), mail.end());
    for (const char *f : {"username", username.c_str(), "email", email.c_str(), "password", user.password.c_str(),
                          "first_name", "", "last_name", "", "is_active", "1", "is_staff", "0",
                          "is_superuser", "0", "email_verified", "0", "date_joined", user.date_joined.c_str(),
                          "last_login", ""}) {
        cmd.emplace_back(f);
    }
    auto created = co_await call.redis(std::move(cmd));

    long long id = created[0].integer;
    if (id <= 0) {
        // Lost a race with a concurrent registration of the same name/address.
        call.log(RESTAUTH_LOG_INFO, "registration lost a race for a username or address");
        if (id == -1 || id == -3) errors.add("username", kUsernameTaken);
        if (id == -2 || id == -3) errors.add("email", kEmailTaken);
        if (errors.empty()) errors.add("username", kUsernameTaken);
        respond_errors(call, errors);
        co_return;
    }
    user.id = id;
    call.log(RESTAUTH_LOG_INFO, "registered user " + std::to_string(id));
    if (verify) log_mail(call, "email_verification", id);

    if (s.email_verification == EmailVerification::Mandatory) {
        respond_detail(call, 201, "Verification e-mail sent.");
        co_return;
    }

    // allauth logs the new user in, as login/ does.
    if (!co_await log_in(call, user, 201, "")) {
        // Deleted between the two steps (an operator was quick).
        errors.add(NON_FIELD_ERRORS, "Unable to log in with provided credentials.");
        respond_errors(call, errors);
    }
}

// ---- registration/verify-email/ --------------------------------------------

Task<void> verify_email(Call &call)
{
    Fields fields;
    if (!read_fields(call, fields)) co_return;

    std::string key;
    FieldErrors errors;
    if (auto m = read_char(fields, "key", key); !m.empty()) {
        errors.add("key", m);
        respond_errors(call, errors);
        co_return;
    }

    Keys keys = keys_of(call);
    Command cmd{"EVAL", kLuaVerifyEmail, "1", keys.verify_key(sha256_hex(key)), keys.prefix()};
    auto verified = co_await call.redis(std::move(cmd));
    long long id = verified[0].integer;
    if (id <= 0) {
        if (id < 0) call.log(RESTAUTH_LOG_INFO, "verification key for a changed or deleted address used");
        respond_detail(call, 404, "Not found.");
        co_return;
    }
    call.log(RESTAUTH_LOG_INFO, "e-mail address of user " + std::to_string(id) + " verified");
    respond_detail(call, 200, "ok");
}

// ---- registration/resend-email/ --------------------------------------------

Task<void> resend_email(Call &call)
{
    Fields fields;
    if (!read_fields(call, fields)) co_return;

    std::string email;
    FieldErrors errors;
    if (auto m = read_char(fields, "email", email); !m.empty()) {
        errors.add("email", m);
    } else if (!is_valid_email(email)) {
        errors.add("email", MSG_INVALID_EMAIL);
    }
    if (!errors.empty()) {
        respond_errors(call, errors);
        co_return;
    }
    {
        std::vector<std::pair<Limit, std::string>> limits{{Limit::MailAddress, fold_case(email)},
                                                          {Limit::MailIp, call.request().client_ip}};
        if (!co_await take_limits(call, std::move(limits))) co_return;
    }

    const Settings &s = call.settings();
    std::string key = random_token();
    if (key.empty()) {
        call.log(RESTAUTH_LOG_ERR, "resend-email: random generation failed");
        call.respond(500, error_body(500));
        co_return;
    }
    Keys keys = keys_of(call);
    Command cmd{
        "EVAL", kLuaResendVerification, "1", keys.by_email(), keys.prefix(), fold_case(email), sha256_hex(key),
        std::to_string(s.verify_token_lifetime), s.mail_stream,
        "subject", kSubjectVerify, "body", verify_body(s, key), "kind", "email_verification", "key", key,
    };
    auto sent = co_await call.redis(std::move(cmd));
    if (sent[0].integer > 0) log_mail(call, "email_verification", sent[0].integer);
    respond_detail(call, 200, "ok");
}

// ---- password/reset/ --------------------------------------------------------

Task<void> password_reset(Call &call)
{
    Fields fields;
    if (!read_fields(call, fields)) co_return;

    std::string email;
    FieldErrors errors;
    if (auto m = read_char(fields, "email", email); !m.empty()) {
        errors.add("email", m);
    } else if (!is_valid_email(email)) {
        errors.add("email", MSG_INVALID_EMAIL);
    }
    if (!errors.empty()) {
        respond_errors(call, errors);
        co_return;
    }
    {
        std::vector<std::pair<Limit, std::string>> limits{{Limit::MailAddress, fold_case(email)},
                                                          {Limit::MailIp, call.request().client_ip}};
        if (!co_await take_limits(call, std::move(limits))) co_return;
    }

    // One script whether or not the address is known: the answer and the
    // number of round trips never tell.
    const Settings &s = call.settings();
    std::string token = random_token();
    if (token.empty()) {
        call.log(RESTAUTH_LOG_ERR, "password reset: random generation failed");
        call.respond(500, error_body(500));
        co_return;
    }
    Keys keys = keys_of(call);
    std::vector<std::string> parts = reset_body_parts(s, token);
    Command cmd{"EVAL", kLuaRequestReset, "1", keys.by_email(), keys.prefix(), fold_case(email),
                sha256_hex(token), std::to_string(s.reset_token_lifetime), s.mail_stream,
                std::to_string(parts.size())};
    cmd.insert(cmd.end(), parts.begin(), parts.end());
    for (const char *f : {"subject", kSubjectReset, "kind", "password_reset", "token", token.c_str()}) {
        cmd.emplace_back(f);
    }
    auto sent = co_await call.redis(std::move(cmd));
    if (sent[0].integer > 0) log_mail(call, "password_reset", sent[0].integer);
    respond_detail(call, 200, kResetSent);
}

// ---- password/reset/confirm/ ------------------------------------------------

Task<void> password_reset_confirm(Call &call)
{
    Fields fields;
    if (!read_fields(call, fields)) co_return;

    // The serializer's fields, in its order.
    std::string password1, password2, uid, token;
    FieldErrors errors;
    for (auto [name, out] : {std::pair{"new_password1", &password1}, std::pair{"new_password2", &password2},
                             std::pair{"uid", &uid}, std::pair{"token", &token}}) {
        std::string_view m = read_char(fields, name, *out);
        if (!m.empty()) {
            errors.add(name, m);
        } else if (out != &uid && out != &token && utf8_length(*out) > 128) {
            errors.add(name, max_length_message(128));
        }
    }
    if (!errors.empty()) {
        respond_errors(call, errors);
        co_return;
    }

    int64_t id = 0;
    if (!parse_uid(uid, id)) {
        errors.add("uid", kInvalidValue);
        respond_errors(call, errors);
        co_return;
    }
    Keys keys = keys_of(call);
    std::string record_key = keys.reset_token(sha256_hex(token));
    std::vector<Command> lookups;
    lookups.push_back(get_user_command(keys, id));
    lookups.push_back(Command{"HMGET", record_key, "user_id", "pwfp"});
    auto found = co_await call.redis(std::move(lookups));
    User user;
    if (!parse_user(found[0], user)) {
        errors.add("uid", kInvalidValue);
        respond_errors(call, errors);
        co_return;
    }
    const RedisValue &record = found[1];
    std::string pwfp = sha256_hex(user.password);
    bool token_ok = record.type == RedisValue::Type::Array && record.elements.size() == 2 &&
                    record.elements[0].is_string() && record.elements[1].is_string() &&
                    record.elements[0].str == std::to_string(user.id) && !pwfp.empty() &&
                    constant_time_equal(record.elements[1].str, pwfp);
    if (!token_ok) {
        errors.add("token", kInvalidValue);
        respond_errors(call, errors);
        co_return;
    }

    // Django's SetPasswordForm.
    if (password1 != password2) {
        errors.add("new_password2", "The two password fields didn\u2019t match.");
    } else {
        UserAttributes attrs = attributes_of(user);
        errors.add("new_password2", validate_password(password2, &attrs, password_policy(call)));
    }
    if (!errors.empty()) {
        respond_errors(call, errors);
        co_return;
    }

    const Settings &s = call.settings();
    std::string hash;
    co_await call.job([&] { hash = make_password_hash(password1, s.password_iterations); });
    if (hash.empty()) {
        call.log(RESTAUTH_LOG_ERR, "password reset: hashing failed");
        call.respond(500, error_body(500));
        co_return;
    }
    Command cmd{"EVAL", kLuaResetPassword, "3", record_key, keys.user(user.id), keys.user_sessions(user.id),
                std::to_string(user.id), user.password, pwfp, hash, keys.prefix(),
                s.logout_on_password_change ? "1" : "0"};
    auto reset = co_await call.redis(std::move(cmd));
    if (reset[0].integer != 1) {
        // Used by a concurrent request, or the password changed meanwhile.
        errors.add("token", kInvalidValue);
        respond_errors(call, errors);
        co_return;
    }
    call.log(RESTAUTH_LOG_INFO, "password reset for user " + std::to_string(user.id));
    respond_detail(call, 200, "Password has been reset with the new password.");
}

}  // namespace restauth
