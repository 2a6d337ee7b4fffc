// health/, login/, logout/, user/, password/change/.
#include <exception>

#include "crypto.h"
#include "endpoint_util.h"
#include "endpoints.h"
#include "json.h"
#include "lua_scripts.h"
#include "password.h"
#include "rate_limit.h"
#include "responses.h"
#include "restauth.h"
#include "unicode.h"
#include "validation.h"

namespace restauth {

namespace {

constexpr const char *kLoginFailed = "Unable to log in with provided credentials.";

// A profile update retries this often when concurrent renames of the same
// user keep changing the name under it (update_profile answers -2).
constexpr int kRenameAttempts = 16;

}  // namespace

Task<void> health(Call &call)
{
    try {
        Command cmd{"PING"};
        auto replies = co_await call.redis(std::move(cmd));
        if (replies[0].str == "PONG") {
            call.respond(200, R"({"redis": "ok"})");
            co_return;
        }
        call.log(RESTAUTH_LOG_ERR, "health: unexpected PING reply");
    } catch (const RedisUnavailable &e) {
        call.log(RESTAUTH_LOG_ERR, std::string("health: ") + e.what());
    }
    respond_detail(call, 503, "Redis is unavailable.");
}

Task<void> login(Call &call)
{
    Fields fields;
    if (!read_fields(call, fields)) co_return;

    FieldErrors errors;
    std::string username, email, password;
    optional_char(fields, "username", username, errors);
    optional_char(fields, "email", email, errors);
    required_char(fields, "password", password, errors);
    if (!email.empty() && !is_valid_email(email)) errors.add("email", MSG_INVALID_EMAIL);
    if (!errors.empty()) {
        call.respond(400, errors.to_json());
        co_return;
    }

    LoginField by;
    std::string login_name;
    if (!email.empty()) {
        by = LoginField::Email;
        login_name = email;
    } else if (!username.empty()) {
        // NFKC, as Django's AuthenticationForm (UsernameField) does: stored
        // names are NFKC, and every spelling of one name ("ａｄｍｉｎ",
        // "admin") finds the same account and counts against the same lock.
        // Ill-formed UTF-8 stays as it is: it finds nobody, at the same cost.
        if (std::string normalized; normalize_username(username, normalized)) username = std::move(normalized);
        by = username.find('@') != std::string::npos ? LoginField::Either : LoginField::Username;
        login_name = username;
    } else {
        errors.add("non_field_errors", "Must include either \"username\" or \"email\" and \"password\".");
        call.respond(400, errors.to_json());
        co_return;
    }

    const Settings &s = call.settings();
    Keys keys = keys_of(call);
    std::string login_key = fold_case(login_name);
    const std::string &ip = call.request().client_ip;

    // A "username" holding an '@' names up to two accounts, read as
    // allauth's username_email method reads it: the account with that
    // e-mail, then the account with that username; the first whose password
    // matches (and is active) logs in.  So registering someone's address as
    // a username cannot shut them out of logging in by it.  Both candidates
    // are always checked, a missing (or locked) one costing a burned hash
    // instead: every refusal of such a login costs exactly two hashes,
    // whoever exists, and answers alike.  (Refusing such usernames at
    // registration instead would leave the collisions already stored, or
    // imported from Django, and would need every path that sets a username
    // or an address to check the other index.)
    std::vector<Command> lookup;
    if (by == LoginField::Either) {
        lookup.push_back(find_user_command(keys, LoginField::Email, login_key));
        lookup.push_back(find_user_command(keys, LoginField::Username, login_key));
    } else {
        lookup.push_back(find_user_command(keys, by, login_key));
    }
    const size_t slots = lookup.size();
    // The attempt is counted in the same round trip, before any hash (see
    // LoginAttempt): a burst, or a client that leaves mid-hash, cannot get
    // more verdicts than the limits allow.
    LoginAttempt attempt = append_login_attempt(lookup, call, ip, login_key);
    auto found = co_await call.redis(std::move(lookup));
    LoginAttempt::Verdict verdict = read_login_attempt(call, attempt, found);
    if (verdict == LoginAttempt::Verdict::Throttled) co_return;

    // A locked account is indistinguishable from an unknown one: same
    // answer, same hashing cost.
    bool locked = verdict == LoginAttempt::Verdict::Locked;
    if (locked) call.log(RESTAUTH_LOG_WARN, "login_account limit reached; login refused from " + ip);
    std::vector<User> candidates(slots);
    std::vector<char> known(slots, 0);
    for (size_t i = 0; i < slots; i++) {
        known[i] = !locked && parse_user(found[i], candidates[i]) &&
                   (i == 0 || !known[0] || candidates[i].id != candidates[0].id);
    }
    int chosen = -1;
    std::string upgraded_hash;
    // The same hashing cost whether or not the users exist: no enumeration
    // by timing.  Inactive users are hashed too, then refused alike.
    std::exception_ptr rejected;
    try {
        co_await call.job([&] {
            for (size_t i = 0; i < slots; i++) {
                if (!known[i]) {
                    burn_password_time(password, s.password_iterations);
                    continue;
                }
                const User &user = candidates[i];
                bool needs_rehash = false;
                bool matched = check_password(password, user.password, s.password_iterations, &needs_rehash) ==
                               PasswordCheck::Match;
                bool chose = chosen < 0 && matched && user.is_active;
                if (chose) chosen = static_cast<int>(i);
                // Only a login that will succeed pays for the upgrade; every
                // refusal costs the target iterations, whatever the stored
                // hash had.
                bool will_log_in = chose && (s.email_verification != EmailVerification::Mandatory ||
                                             user.email_verified);
                if (will_log_in && needs_rehash) {
                    upgraded_hash = make_password_hash(password, s.password_iterations);
                } else {
                    harden_password_runtime(password, user.password, s.password_iterations);
                }
            }
        });
    } catch (const JobRejected &) {
        rejected = std::current_exception();
    }
    if (rejected) {
        // No password was checked: the attempt got no verdict, so it is
        // handed back before the 503.
        auto release = login_release(attempt);
        if (!release.empty()) co_await call.redis(std::move(release));
        std::rethrow_exception(rejected);
    }

    if (chosen < 0) {
        // The attempt stays counted: it was a failure.
        call.log(RESTAUTH_LOG_INFO, "login failed from " + ip);
        errors.add("non_field_errors", kLoginFailed);
        call.respond(400, errors.to_json());
        co_return;
    }
    // The password was right: the attempt is handed back, so successful
    // logins never use up the address's or the login name's limit.
    auto release = login_release(attempt);
    if (!release.empty()) co_await call.redis(std::move(release));

    User &user = candidates[static_cast<size_t>(chosen)];
    if (s.email_verification == EmailVerification::Mandatory && !user.email_verified) {
        errors.add("non_field_errors", "E-mail is not verified.");
        call.respond(400, errors.to_json());
        co_return;
    }

    bool upgraded = !upgraded_hash.empty();
    if (!co_await log_in(call, user, 200, std::move(upgraded_hash))) {
        errors.add("non_field_errors", kLoginFailed);
        call.respond(400, errors.to_json());
        co_return;
    }
    if (upgraded) call.log(RESTAUTH_LOG_INFO, "upgraded password hash of user " + std::to_string(user.id));
}

// Opaque mode: the presented key is deleted; dj-rest-auth answers the same
// when there is none.
Task<void> logout_opaque(Call &call)
{
    const Request &req = call.request();
    std::string_view h = req.authorization;
    size_t sp = h.find(' ');
    if (req.has_authorization && sp != std::string_view::npos && fold_case(h.substr(0, sp)) == "token") {
        std::string digest = sha256_hex(h.substr(sp + 1));
        Keys keys = keys_of(call);
        Command owner_cmd{"HGET", keys.opaque_token(digest), "user_id"};
        auto owner = co_await call.redis(std::move(owner_cmd));
        if (owner[0].is_string()) {
            Command del{"DEL", keys.opaque_token(digest)};
            Command srem{"SREM", keys.user_tokens(std::strtoll(owner[0].str.c_str(), nullptr, 10)), digest};
            std::vector<Command> batch;
            batch.push_back(std::move(del));
            batch.push_back(std::move(srem));
            co_await call.redis(std::move(batch));
        }
    }
    respond_detail(call, 200, "Successfully logged out.");
}

Task<void> logout(Call &call)
{
    if (call.settings().opaque_tokens()) {
        co_await logout_opaque(call);
        co_return;
    }
    // The token cookies are cleared on every answer, errors included, as
    // dj-rest-auth does -- but not on a CSRF refusal, which DRF gives
    // before the view runs (else any site could log a user out).
    Fields fields;
    if (!read_fields(call, fields)) {
        clear_token_cookies(call);
        co_return;
    }

    std::string refresh;
    FieldErrors errors;
    optional_char(fields, "refresh", refresh, errors);
    bool from_cookie = false;
    if (refresh.empty() && !call.settings().cookie_refresh.empty()) {
        refresh = cookie_value(call.request().cookie, call.settings().cookie_refresh);
        from_cookie = !refresh.empty();
    }
    if (refresh.empty()) {
        clear_token_cookies(call);
        respond_unauthorized(call, R"({"detail": "Refresh token was not included in request data."})");
        co_return;
    }
    auto all = fields.find("all");
    bool end_all = all != fields.end() && ((all->second.kind == FieldValue::Kind::Bool && all->second.boolean) ||
                                           (all->second.kind == FieldValue::Kind::String &&
                                            (all->second.text == "true" || all->second.text == "1")));

    VerifiedToken token;
    if (check_token(call, refresh, "refresh", token) != TokenCheck::Ok || token.sid.empty()) {
        clear_token_cookies(call);
        respond_unauthorized(call, R"({"detail": "Token is invalid or expired"})");
        co_return;
    }

    if (from_cookie && !csrf_passes(call, token.sid)) co_return;
    clear_token_cookies(call);

    Keys keys = keys_of(call);
    if (end_all) {
        co_await finish_revocation(call, token.user_id, "");
        call.log(RESTAUTH_LOG_INFO, "all sessions of user " + std::to_string(token.user_id) + " revoked");
        respond_detail(call, 200, "Successfully logged out.");
        co_return;
    }
    Command cmd{"EVAL", std::string(lua::end_session), "2", keys.session(token.sid),
                                       keys.user_sessions(token.user_id), token.jti, token.sid};
    auto ended = co_await call.redis(std::move(cmd));
    if (ended[0].integer != 1) {
        if (ended[0].integer == -1) {
            call.log(RESTAUTH_LOG_WARN, "rotated refresh token reused at logout; session " + token.sid + " revoked");
        }
        respond_unauthorized(call, R"({"detail": "Token is blacklisted"})");
        co_return;
    }
    respond_detail(call, 200, "Successfully logged out.");
}

Task<void> user_details(Call &call)
{
    auto caller = co_await authenticate(call);
    if (!caller) co_return;
    const std::string &method = call.request().method;
    User &user = caller->user;

    if (method == "GET" || method == "HEAD") {
        call.respond(200, user_json(user));
        co_return;
    }
    if (method != "PUT" && method != "PATCH") {
        respond_method_not_allowed(call, "GET, PUT, PATCH, HEAD, OPTIONS");
        co_return;
    }

    Fields fields;
    if (!read_fields(call, fields)) co_return;
    FieldErrors errors;
    bool partial = method == "PATCH";

    std::string username;
    bool has_username = fields.count("username") != 0;
    if (has_username || !partial) {
        required_char(fields, "username", username, errors);
        if (!errors.has("username")) {
            std::string normalized;
            if (!normalize_username(username, normalized)) {
                errors.add("username", MSG_INVALID_USERNAME);  // not UTF-8
            } else {
                username = std::move(normalized);  // NFKC, as at registration
                for (const auto &m : validate_username(username)) errors.add("username", m);
            }
        }
    }
    // The fields to write, as (name, value) pairs, applied to `user` for the
    // answer once written.
    std::vector<std::pair<std::string, std::string>> changes;
    if (has_username || !partial) changes.emplace_back("username", username);
    for (const char *name : {"first_name", "last_name"}) {
        if (fields.count(name) == 0) continue;
        std::string value;
        optional_char(fields, name, value, errors);
        if (utf8_length(value) > 150) errors.add(name, "Ensure this field has no more than 150 characters.");
        changes.emplace_back(name, value);
    }
    if (!errors.empty()) {
        call.respond(400, errors.to_json());
        co_return;
    }

    // The script checks that the user's name is still the one we read (-2
    // otherwise: renamed by a concurrent request; we read the user again and
    // retry), so the old name's index entry is always the one it removes.
    // Each retry means another rename landed; a client racing itself past
    // the bound gets 503.
    Keys keys = keys_of(call);
    std::string new_folded = has_username || !partial ? fold_case(username) : std::string();
    for (int attempt = 1;; attempt++) {
        Command cmd{"EVAL", std::string(lua::update_profile), "2", keys.user(user.id), keys.by_username(),
                    std::to_string(user.id), new_folded, user.username, fold_case(user.username)};
        for (const auto &[name, value] : changes) {
            cmd.push_back(name);
            cmd.push_back(value);
        }
        auto updated = co_await call.redis(std::move(cmd));
        if (updated[0].integer == -1) {
            errors.add("username", "A user with that username already exists.");
            call.respond(400, errors.to_json());
            co_return;
        }
        if (updated[0].integer == -2 && attempt < kRenameAttempts) {
            auto fresh = co_await call.redis(get_user_command(keys, user.id));
            if (parse_user(fresh[0], user)) continue;
        } else if (updated[0].integer == -2) {
            call.log(RESTAUTH_LOG_WARN, "profile update of user " + std::to_string(user.id) + " gave up after " +
                                            std::to_string(attempt) + " concurrent renames");
            call.add_header("Retry-After", "1");
            call.respond(503, error_body(503));
            co_return;
        } else if (updated[0].integer == 1) {
            break;
        }
        respond_unauthorized(call, R"({"detail": "User not found", "code": "user_not_found"})");
        co_return;
    }
    for (const auto &[name, value] : changes) {
        (name == "username" ? user.username : name == "first_name" ? user.first_name : user.last_name) = value;
    }
    call.respond(200, user_json(user));
}

Task<void> password_change(Call &call)
{
    auto caller = co_await authenticate(call);
    if (!caller) co_return;
    if (call.request().method != "POST") {
        respond_method_not_allowed(call, "POST, OPTIONS");
        co_return;
    }
    Fields fields;
    if (!read_fields(call, fields)) co_return;

    const Settings &s = call.settings();
    FieldErrors errors;
    std::string old_password, password1, password2;
    if (s.old_password_field) required_char(fields, "old_password", old_password, errors);
    required_char(fields, "new_password1", password1, errors);
    required_char(fields, "new_password2", password2, errors);
    if (!errors.empty()) {
        call.respond(400, errors.to_json());
        co_return;
    }

    User &user = caller->user;
    bool old_ok = true;
    if (s.old_password_field) {
        co_await call.job([&] {
            bool unused = false;
            old_ok = check_password(old_password, user.password, s.password_iterations, &unused) ==
                     PasswordCheck::Match;
        });
        if (!old_ok) {
            errors.add("old_password", "Your old password was entered incorrectly. Please enter it again.");
            call.respond(400, errors.to_json());
            co_return;
        }
    }
    if (password1 != password2) {
        errors.add("new_password2", "The two password fields didn\u2019t match.");
    } else {
        UserAttributes attrs = attributes_of(user);
        for (const auto &m : validate_password(password2, &attrs, password_policy(call))) {
            errors.add("new_password2", m);
        }
    }
    if (!errors.empty()) {
        call.respond(400, errors.to_json());
        co_return;
    }

    std::string hash;
    co_await call.job([&] { hash = make_password_hash(password1, s.password_iterations); });

    Keys keys = keys_of(call);
    std::string keep = s.opaque_tokens() ? caller->opaque_digest : caller->token.sid;
    Command cmd{"EVAL", std::string(lua::set_password), "3", keys.user(user.id), keys.user_sessions(user.id),
                                     keys.user_tokens(user.id), keys.prefix(), "", hash, keep,
                                     s.logout_on_password_change ? "1" : "0"};
    auto set = co_await call.redis(std::move(cmd));
    if (set[0].integer == 2) {
        co_await finish_revocation(call, user.id, keep);
    } else if (set[0].integer != 1) {
        respond_unauthorized(call, R"({"detail": "User not found", "code": "user_not_found"})");
        co_return;
    }
    call.log(RESTAUTH_LOG_INFO, "password changed for user " + std::to_string(user.id));
    respond_detail(call, 200, "New password has been saved.");
}

}  // namespace restauth
