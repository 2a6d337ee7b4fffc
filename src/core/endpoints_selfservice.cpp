// registration/, registration/verify-email/, registration/resend-email/,
// password/reset/, password/reset/confirm/: dj-rest-auth's self-service
// endpoints (allauth's RegisterSerializer and e-mail confirmation, Django's
// password reset).
//
// Reset tokens and verification keys are 32 random bytes (base64url) handed
// out only in mail; the records that make them valid hold their SHA-256
// digests, never the raw values:
//
//     P reset:<sha256_hex(token)>   hash {user_id, pwfp}  TTL reset_token_lifetime
//     P verify:<sha256_hex(key)>    hash {user_id, email} TTL verify_token_lifetime
//
// pwfp is sha256_hex of the user's password hash at the time of the request,
// so any password change (API, reset, CLI) voids outstanding reset tokens, as
// Django's token generator does.  Mail is an XADD to the mail stream in the
// same Lua script as the record it refers to; the raw value is in the mail
// only until restauth-mailer delivers (or dead-letters) it and deletes the
// entry, and XADD's MAXLEN ~ restauth_mail_stream_maxlen bounds the stream
// when nothing consumes it.
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
#include "lua_scripts.h"
#include "password.h"
#include "rate_limit.h"
#include "responses.h"
#include "restauth.h"
#include "tokens.h"
#include "unicode.h"
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
        std::vector<std::pair<Limit, std::string>> limits{{Limit::REGISTRATION_IP, call.request().client_ip}};
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
    } else if (std::string normalized; !normalize_username(username, normalized)) {
        username_errors.emplace_back(MSG_INVALID_USERNAME);  // not UTF-8: no valid name either
    } else {
        // Stored, indexed, checked and sent upstream in NFKC, as Django's
        // normalize_username() and UsernameField do: "ａｄｍｉｎ" is "admin".
        username = std::move(normalized);
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
    Command cmd{"EVAL", std::string(lua::register_user), "3", keys.next_id(), keys.by_username(), keys.by_email(),
                keys.prefix(), folded_username, folded_email,
                verify ? sha256_hex(key) : std::string(), std::to_string(s.verify_token_lifetime), s.mail_stream,
                std::to_string(s.mail_stream_maxlen), email};
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
    Command cmd{"EVAL", std::string(lua::verify_email), "1", keys.verify_key(sha256_hex(key)), keys.prefix()};
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
        std::vector<std::pair<Limit, std::string>> limits{{Limit::MAIL_ADDRESS, fold_case(email)},
                                                          {Limit::MAIL_IP, call.request().client_ip}};
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
        "EVAL", std::string(lua::resend_verification), "1", keys.by_email(),
        keys.prefix(), fold_case(email), sha256_hex(key),
        std::to_string(s.verify_token_lifetime), s.mail_stream, std::to_string(s.mail_stream_maxlen),
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
        std::vector<std::pair<Limit, std::string>> limits{{Limit::MAIL_ADDRESS, fold_case(email)},
                                                          {Limit::MAIL_IP, call.request().client_ip}};
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
    Command cmd{"EVAL", std::string(lua::request_reset), "1", keys.by_email(), keys.prefix(), fold_case(email),
                sha256_hex(token), std::to_string(s.reset_token_lifetime), s.mail_stream,
                std::to_string(s.mail_stream_maxlen), std::to_string(parts.size())};
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
    Command cmd{"EVAL", std::string(lua::reset_password), "4",
                record_key, keys.user(user.id), keys.user_sessions(user.id), keys.user_tokens(user.id),
                std::to_string(user.id), user.password, pwfp, hash, keys.prefix(),
                s.logout_on_password_change ? "1" : "0"};
    auto reset = co_await call.redis(std::move(cmd));
    if (reset[0].integer == 2) {
        co_await finish_revocation(call, user.id, "");
    } else if (reset[0].integer != 1) {
        // Used by a concurrent request, or the password changed meanwhile.
        errors.add("token", kInvalidValue);
        respond_errors(call, errors);
        co_return;
    }
    call.log(RESTAUTH_LOG_INFO, "password reset for user " + std::to_string(user.id));
    respond_detail(call, 200, "Password has been reset with the new password.");
}

}  // namespace restauth
