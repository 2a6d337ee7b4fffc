// The core's Redis Lua scripts against a real redis-server.
//
// tests/unit/test_call.cpp pins the exact command (script, keys, arguments)
// each endpoint sends, with a fake Redis; this program runs those same
// scripts with the same keys and arguments in a throwaway redis-server and
// asserts what they do to Redis: keys, hashes, sets, TTLs and the mail
// stream.  Each script gets its happy path, every refusal (checking that a
// refusal writes nothing), and the races that matter, played by
// interleaving the steps two requests would take (a script is atomic, so
// an interleaving of whole scripts is all a race can produce) and, where
// numbers matter, by concurrent clients.
//
// Key names come from the core's Keys class; rate-limit commands are built
// by the core's own append_rate_limit, the login lookup by find_user_command.
//
// The server: $REDIS_SERVER (default redis-server) on 127.0.0.1 and a port
// the kernel hands out, no persistence, in a temporary directory; stopped
// at the end.  The tests block on a synchronous hiredis connection.
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <csignal>
#include <cstdarg>
#include <cstddef>
#include <csetjmp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <unistd.h>
#include <utility>
#include <vector>

extern "C" {
#include <cmocka.h>
}

#include <hiredis/hiredis.h>

#include "api.h"
#include "call.h"
#include "crypto.h"
#include "encoding.h"
#include "lua_scripts.h"
#include "rate_limit.h"
#include "user_store.h"
#include "validation.h"

namespace {

using restauth::Command;
using restauth::Keys;
using restauth::RedisValue;

const std::string kPrefix = "restauth:";
const std::string kStream = "restauth:mail";
const Keys K(kPrefix);

// ============================================================================
// The server
// ============================================================================

pid_t g_server = -1;
int g_port = 0;
std::string g_dir;
redisContext *g_redis = nullptr;

int free_loopback_port()
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return 0;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof(a);
    int port = 0;
    if (bind(fd, reinterpret_cast<sockaddr *>(&a), sizeof(a)) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr *>(&a), &len) == 0) {
        port = ntohs(a.sin_port);
    }
    close(fd);
    return port;
}

redisContext *connect_server()
{
    timeval tv{5, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", g_port, tv);
    if (c == nullptr) return nullptr;
    if (c->err) {
        redisFree(c);
        return nullptr;
    }
    redisSetTimeout(c, timeval{30, 0});
    return c;
}

void stop_server()
{
    if (g_redis) {
        redisFree(g_redis);
        g_redis = nullptr;
    }
    if (g_server > 0) {
        kill(g_server, SIGTERM);
        waitpid(g_server, nullptr, 0);
        g_server = -1;
    }
}

// Starts redis-server and connects; waits for it with a generous ceiling.
bool start_server()
{
    const char *bin = std::getenv("REDIS_SERVER");
    if (bin == nullptr || *bin == '\0') bin = "redis-server";
    char tmpl[] = "/tmp/restauth-lua-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) {
        std::perror("mkdtemp");
        return false;
    }
    g_dir = tmpl;
    for (int attempt = 0; attempt < 5; attempt++) {
        g_port = free_loopback_port();
        if (g_port == 0) continue;
        std::string port = std::to_string(g_port);
        std::string log = g_dir + "/redis.log";
        g_server = fork();
        if (g_server < 0) return false;
        if (g_server == 0) {
            execlp(bin, bin, "--port", port.c_str(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                   "--dir", g_dir.c_str(), "--logfile", log.c_str(), "--daemonize", "no", (char *)nullptr);
            std::perror("exec redis-server");
            _exit(127);
        }
        for (int waited_ms = 0; waited_ms < 30000; waited_ms += 50) {
            int status = 0;
            if (waitpid(g_server, &status, WNOHANG) == g_server) {  // died: port taken?
                g_server = -1;
                break;
            }
            g_redis = connect_server();
            if (g_redis) {
                auto *r = static_cast<redisReply *>(redisCommand(g_redis, "PING"));
                bool pong = r && r->type == REDIS_REPLY_STATUS;
                if (r) freeReplyObject(r);
                if (pong) return true;
                redisFree(g_redis);
                g_redis = nullptr;
            }
            usleep(50 * 1000);
        }
        stop_server();
    }
    std::fprintf(stderr, "could not start %s (log in %s)\n", bin, g_dir.c_str());
    return false;
}

// ============================================================================
// Talking to it
// ============================================================================

// One command on connection c; Type::Failed when the connection broke.
// Safe in any thread (never fails the test itself).
RedisValue send_on(redisContext *c, const Command &cmd)
{
    std::vector<const char *> argv;
    std::vector<size_t> argvlen;
    for (const auto &a : cmd) {
        argv.push_back(a.data());
        argvlen.push_back(a.size());
    }
    auto *r = static_cast<redisReply *>(redisCommandArgv(c, int(argv.size()), argv.data(), argvlen.data()));
    RedisValue v = RedisValue::from_reply(r);  // Failed for nullptr
    if (r) freeReplyObject(r);
    return v;
}

// One command on the test's connection (main thread only).
RedisValue send(const Command &cmd)
{
    RedisValue v = send_on(g_redis, cmd);
    if (v.type == RedisValue::Type::Failed) fail_msg("redis connection failed: %s", g_redis->errstr);
    return v;
}

RedisValue run_ok(const Command &cmd, const char *file, int line)
{
    RedisValue v = send(cmd);
    if (v.type == RedisValue::Type::Error) {
        print_error("%s: redis error: %s\n", cmd[0].c_str(), v.str.c_str());
        _fail(file, line);
    }
    return v;
}
#define R(...) run_ok(Command{__VA_ARGS__}, __FILE__, __LINE__)

// EVAL script numkeys keys... args...
Command eval(std::string_view script, const std::vector<std::string> &keys, const std::vector<std::string> &args)
{
    Command c{"EVAL", std::string(script), std::to_string(keys.size())};
    c.insert(c.end(), keys.begin(), keys.end());
    c.insert(c.end(), args.begin(), args.end());
    return c;
}
#define EVAL(script, keys, ...) run_ok(eval((script), keys, __VA_ARGS__), __FILE__, __LINE__)

// ---- reading state -----------------------------------------------------------

using Hash = std::map<std::string, std::string>;
using Fields = std::vector<std::pair<std::string, std::string>>;  // in order
using Members = std::set<std::string>;

Hash hgetall(const std::string &key)
{
    RedisValue v = send({"HGETALL", key});
    Hash h;
    for (size_t i = 0; i + 1 < v.elements.size(); i += 2) h[v.elements[i].str] = v.elements[i + 1].str;
    return h;
}

// The members of a set or a sorted set (the session and key indexes).
Members smembers(const std::string &key)
{
    bool sorted = send({"TYPE", key}).str == "zset";
    RedisValue v = send(sorted ? Command{"ZRANGE", key, "0", "-1"} : Command{"SMEMBERS", key});
    Members m;
    for (const auto &e : v.elements) m.insert(e.str);
    return m;
}

bool exists(const std::string &key)
{
    return send({"EXISTS", key}).integer == 1;
}

long long ttl(const std::string &key)
{
    return send({"TTL", key}).integer;
}

std::string get(const std::string &key)
{
    return send({"GET", key}).str;
}

struct Entry {
    std::string id;
    Fields fields;
};

std::vector<Entry> xrange(const std::string &stream)
{
    RedisValue v = send({"XRANGE", stream, "-", "+"});
    std::vector<Entry> out;
    for (const auto &e : v.elements) {
        Entry entry;
        entry.id = e.elements.at(0).str;
        const auto &f = e.elements.at(1).elements;
        for (size_t i = 0; i + 1 < f.size(); i += 2) entry.fields.emplace_back(f[i].str, f[i + 1].str);
        out.push_back(std::move(entry));
    }
    return out;
}

// Every key with its type and content (TTLs aside), as text: two equal
// snapshots mean nothing was written in between.
std::string snapshot()
{
    RedisValue keys = send({"KEYS", "*"});
    std::set<std::string> names;
    for (const auto &k : keys.elements) names.insert(k.str);
    std::string out;
    for (const auto &k : names) {
        std::string type = send({"TYPE", k}).str;
        out += k + " (" + type + "):";
        if (type == "string") {
            out += " " + get(k);
        } else if (type == "hash") {
            for (const auto &[f, v] : hgetall(k)) out += " " + f + "=" + v;
        } else if (type == "set") {
            for (const auto &m : smembers(k)) out += " " + m;
        } else if (type == "zset") {
            RedisValue v = send({"ZRANGE", k, "0", "-1", "WITHSCORES"});
            for (const auto &e : v.elements) out += " " + e.str;
        } else if (type == "stream") {
            for (const auto &e : xrange(k)) {
                out += " {";
                for (const auto &[f, v] : e.fields) out += " " + f + "=" + v;
                out += " }";
            }
        } else {
            out += " ?";
        }
        out += "\n";
    }
    return out;
}

// ---- assertions with the caller's line ----------------------------------------------

void expect_int(const RedisValue &got, long long want, const char *file, int line)
{
    if (got.type != RedisValue::Type::Integer || got.integer != want) {
        print_error("expected the integer %lld, got type %d integer %lld str \"%s\" (%zu elements)\n", want,
                    int(got.type), got.integer, got.str.c_str(), got.elements.size());
        _fail(file, line);
    }
}
#define EXPECT_INT(got, want) expect_int((got), (want), __FILE__, __LINE__)

std::string show(const Hash &h)
{
    std::string out = "{";
    for (const auto &[k, v] : h) out += " " + k + "=" + (v.size() > 70 ? v.substr(0, 70) + "..." : v);
    return out + " }";
}

void expect_hash(const std::string &key, const Hash &want, const char *file, int line)
{
    Hash got = hgetall(key);
    if (got != want) {
        print_error("hash %s differs\n  got:  %s\n  want: %s\n", key.c_str(), show(got).c_str(), show(want).c_str());
        _fail(file, line);
    }
}
#define EXPECT_HASH(key, ...) expect_hash((key), __VA_ARGS__, __FILE__, __LINE__)

void expect_members(const std::string &key, const Members &want, const char *file, int line)
{
    Members got = smembers(key);
    if (got != want) {
        std::string g, w;
        for (const auto &m : got) g += " " + m;
        for (const auto &m : want) w += " " + m;
        print_error("set %s differs\n  got: %s\n  want:%s\n", key.c_str(), g.c_str(), w.c_str());
        _fail(file, line);
    }
}
#define EXPECT_MEMBERS(key, ...) expect_members((key), __VA_ARGS__, __FILE__, __LINE__)

void expect_gone(const std::string &key, const char *file, int line)
{
    if (exists(key)) {
        print_error("key %s still exists\n", key.c_str());
        _fail(file, line);
    }
}
#define EXPECT_GONE(key) expect_gone((key), __FILE__, __LINE__)

void expect_ttl(const std::string &key, long long low, long long high, const char *file, int line)
{
    long long t = ttl(key);
    if (t < low || t > high) {
        print_error("TTL of %s is %lld, want %lld..%lld\n", key.c_str(), t, low, high);
        _fail(file, line);
    }
}
#define EXPECT_TTL(key, low, high) expect_ttl((key), (low), (high), __FILE__, __LINE__)

void expect_unchanged(const std::string &before, const char *file, int line)
{
    std::string after = snapshot();
    if (after != before) {
        print_error("Redis changed\n--- before\n%s--- after\n%s", before.c_str(), after.c_str());
        _fail(file, line);
    }
}
#define EXPECT_UNCHANGED(before) expect_unchanged((before), __FILE__, __LINE__)

void expect_fields(const Fields &got, const Fields &want, const char *file, int line)
{
    if (got != want) {
        std::string g, w;
        for (const auto &[k, v] : got) g += " " + k + "=" + v.substr(0, 60);
        for (const auto &[k, v] : want) w += " " + k + "=" + v.substr(0, 60);
        print_error("stream entry differs\n  got: %s\n  want:%s\n", g.c_str(), w.c_str());
        _fail(file, line);
    }
}
#define EXPECT_FIELDS(got, ...) expect_fields((got), __VA_ARGS__, __FILE__, __LINE__)

// ============================================================================
// Fixtures, written with plain commands (never through a script under test)
// ============================================================================

const std::string kHash = "pbkdf2_sha256$1000$saltsaltsaltsaltsalt12$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
const std::string kNewHash = "pbkdf2_sha256$1000$newsaltnewsaltnewsalt1$BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB=";
const std::string kUpgraded = "pbkdf2_sha256$600000$upgradedupgradedupgr1$CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC=";
constexpr int64_t kNow = 1700000000;

Hash user_hash(int64_t id, const std::string &username, const std::string &email,
               const std::string &password = kHash)
{
    return {{"id", std::to_string(id)},
            {"username", username},
            {"email", email},
            {"password", password},
            {"first_name", ""},
            {"last_name", ""},
            {"is_active", "1"},
            {"is_staff", "0"},
            {"is_superuser", "0"},
            {"email_verified", "1"},
            {"date_joined", "2023-01-01T00:00:00Z"},
            {"last_login", ""}};
}

void put_hash(const std::string &key, const Hash &h)
{
    Command c{"HSET", key};
    for (const auto &[k, v] : h) {
        c.push_back(k);
        c.push_back(v);
    }
    R(c);
}

// A user with its index entries, as registration leaves it.
Hash put_user(int64_t id, const std::string &username, const std::string &email,
              const std::string &password = kHash)
{
    Hash h = user_hash(id, username, email, password);
    put_hash(K.user(id), h);
    R("HSET", K.by_username(), restauth::fold_case(username), std::to_string(id));
    if (!email.empty()) R("HSET", K.by_email(), restauth::fold_case(email), std::to_string(id));
    return h;
}

// A session as login leaves it (start_session's fields).
Hash session_hash(int64_t uid, const std::string &jti)
{
    return {{"user_id", std::to_string(uid)},   {"jti", jti},
            {"created", std::to_string(kNow)},  {"last_used", std::to_string(kNow)},
            {"user_agent", "test-agent/1.0"},   {"ip", "192.0.2.10"},
            {"expires", std::to_string(kNow + 86400)}};
}

// A session as login leaves it: its record, and its id in the user's index
// (a sorted set scored by creation time).
void put_session(int64_t uid, const std::string &sid, const std::string &jti, int64_t created = kNow)
{
    Hash h = session_hash(uid, jti);
    h["created"] = std::to_string(created);
    put_hash(K.session(sid), h);
    R("EXPIRE", K.session(sid), "86400");
    R("ZADD", K.user_sessions(uid), std::to_string(created), sid);
    R("EXPIRE", K.user_sessions(uid), "86400");
}

void put_opaque(int64_t uid, const std::string &digest, int64_t created = kNow)
{
    put_hash(K.opaque_token(digest), {{"user_id", std::to_string(uid)}, {"created", std::to_string(created)}});
    R("ZADD", K.user_tokens(uid), std::to_string(created), digest);
}

// As an older version left them: the index a plain set, no order.
void put_legacy_session(int64_t uid, const std::string &sid, const std::string &jti, int64_t created = kNow)
{
    Hash h = session_hash(uid, jti);
    h["created"] = std::to_string(created);
    put_hash(K.session(sid), h);
    R("EXPIRE", K.session(sid), "86400");
    R("SADD", K.user_sessions(uid), sid);
    R("EXPIRE", K.user_sessions(uid), "86400");
}

void put_legacy_opaque(int64_t uid, const std::string &digest, int64_t created = kNow)
{
    put_hash(K.opaque_token(digest), {{"user_id", std::to_string(uid)}, {"created", std::to_string(created)}});
    R("SADD", K.user_tokens(uid), digest);
}

std::string unsorted(const std::string &index)
{
    return index + ":unsorted";
}

long long card(const std::string &key)
{
    std::string type = send({"TYPE", key}).str;
    if (type == "zset") return send({"ZCARD", key}).integer;
    return send({"SCARD", key}).integer;
}

int flush(void **)
{
    R("FLUSHALL");
    return 0;
}

// ============================================================================
// find_user: the login lookup (built by find_user_command)
// ============================================================================

RedisValue find(restauth::LoginField field, const std::string &login)
{
    return send(restauth::find_user_command(K, field, restauth::fold_case(login)));
}

std::string found_id(const RedisValue &v)
{
    Hash h;
    for (size_t i = 0; i + 1 < v.elements.size(); i += 2) h[v.elements[i].str] = v.elements[i + 1].str;
    return h.count("id") ? h["id"] : "<none>";
}

void test_find_user_by_username_or_email(void **)
{
    Hash alice = put_user(7, "Alice", "alice@example.com");
    put_user(8, "bob", "Bob@Example.com");
    using restauth::LoginField;

    RedisValue v = find(LoginField::Username, "ALICE");
    assert_true(v.type == RedisValue::Type::Array);
    Hash got;
    for (size_t i = 0; i + 1 < v.elements.size(); i += 2) got[v.elements[i].str] = v.elements[i + 1].str;
    assert_true(got == alice);  // the whole hash, HGETALL of the user

    assert_string_equal(found_id(find(LoginField::Email, "bob@example.com")).c_str(), "8");
    // Each mode looks only where it is told to.
    assert_int_equal(find(LoginField::Username, "alice@example.com").elements.size(), 0);
    assert_int_equal(find(LoginField::Email, "alice").elements.size(), 0);
    assert_int_equal(find(LoginField::Username, "nobody").elements.size(), 0);
}

void test_find_user_address_as_username_two_candidates(void **)
{
    // A "username" holding an '@' is looked up in both indexes (two
    // commands); each finds its own account.
    put_user(7, "carol@example.com", "x@example.com");  // a username that looks like an address
    put_user(8, "carol", "carol@example.com");
    using restauth::LoginField;
    assert_string_equal(found_id(find(LoginField::Email, "carol@example.com")).c_str(), "8");
    assert_string_equal(found_id(find(LoginField::Username, "carol@example.com")).c_str(), "7");
}

void test_find_user_dangling_index_is_empty(void **)
{
    put_user(7, "alice", "alice@example.com");
    R("DEL", K.user(7));
    assert_int_equal(find(restauth::LoginField::Username, "alice").elements.size(), 0);
}

void test_find_user_other_prefix(void **)
{
    put_user(7, "alice", "alice@example.com");  // under restauth:
    Keys app1("app1:");
    RedisValue v = send(restauth::find_user_command(app1, restauth::LoginField::Username, "alice"));
    assert_int_equal(v.elements.size(), 0);
    put_hash(app1.user(3), user_hash(3, "alice", ""));
    R("HSET", app1.by_username(), "alice", "3");
    v = send(restauth::find_user_command(app1, restauth::LoginField::Username, "alice"));
    assert_string_equal(found_id(v).c_str(), "3");
}

// ============================================================================
// create_user (KEYS next_id, by_username, by_email; ARGV prefix, folded
// username, folded email, fields)
// ============================================================================

RedisValue create_user(const std::string &username, const std::string &email, const Hash &fields)
{
    std::vector<std::string> args{kPrefix, restauth::fold_case(username), restauth::fold_case(email)};
    for (const auto &[k, v] : fields) {
        args.push_back(k);
        args.push_back(v);
    }
    return EVAL(restauth::lua::create_user, {K.next_id(), K.by_username(), K.by_email()}, args);
}

Hash without_id(Hash h)
{
    h.erase("id");
    return h;
}

void test_create_user_writes_user_and_indexes(void **)
{
    Hash alice = user_hash(1, "Alice", "Alice@example.com");
    EXPECT_INT(create_user("Alice", "Alice@example.com", without_id(alice)), 1);
    EXPECT_HASH(K.user(1), alice);
    EXPECT_HASH(K.by_username(), {{"alice", "1"}});
    EXPECT_HASH(K.by_email(), {{"alice@example.com", "1"}});
    assert_string_equal(get(K.next_id()).c_str(), "1");

    // No address: nothing indexed for it, and a second one is no conflict.
    EXPECT_INT(create_user("bob", "", without_id(user_hash(2, "bob", ""))), 2);
    EXPECT_INT(create_user("carl", "", without_id(user_hash(3, "carl", ""))), 3);
    EXPECT_HASH(K.by_email(), {{"alice@example.com", "1"}});
}

void test_create_user_refuses_taken_names(void **)
{
    put_user(1, "alice", "alice@example.com");
    R("SET", K.next_id(), "1");
    std::string before = snapshot();
    EXPECT_INT(create_user("ALICE", "other@example.com", without_id(user_hash(0, "ALICE", "other@example.com"))), -1);
    EXPECT_UNCHANGED(before);
    EXPECT_INT(create_user("other", "ALICE@example.com", without_id(user_hash(0, "other", "ALICE@example.com"))), -2);
    EXPECT_UNCHANGED(before);
}

// Index entries of a user deleted by hand (its hash gone) do not block
// the name; they are replaced.
void test_create_user_replaces_dangling_index_entries(void **)
{
    put_user(1, "alice", "alice@example.com");
    R("SET", K.next_id(), "1");
    R("DEL", K.user(1));
    Hash alice = user_hash(2, "Alice", "Alice@example.com");
    EXPECT_INT(create_user("Alice", "Alice@example.com", without_id(alice)), 2);
    EXPECT_HASH(K.user(2), alice);
    EXPECT_HASH(K.by_username(), {{"alice", "2"}});
    EXPECT_HASH(K.by_email(), {{"alice@example.com", "2"}});
}

void test_create_user_skips_ids_in_use(void **)
{
    put_user(1, "imported", "");
    put_user(2, "imported2", "");  // next_id never counted them
    EXPECT_INT(create_user("new", "", without_id(user_hash(0, "new", ""))), 3);
    assert_string_equal(get(K.next_id()).c_str(), "3");
    EXPECT_HASH(K.user(1), user_hash(1, "imported", ""));
}

// ============================================================================
// update_profile (KEYS user, by_username; ARGV id, new folded username or '',
// the username as the caller read it, its folded form, fields)
// ============================================================================

Command update_profile_command(int64_t id, const std::string &new_folded, const std::string &old_name,
                               const Fields &fields)
{
    std::vector<std::string> args{std::to_string(id), new_folded, old_name, restauth::fold_case(old_name)};
    for (const auto &[k, v] : fields) {
        args.push_back(k);
        args.push_back(v);
    }
    return eval(restauth::lua::update_profile, {K.user(id), K.by_username()}, args);
}

RedisValue update_profile(int64_t id, const std::string &new_folded, const std::string &old_name,
                          const Fields &fields)
{
    return run_ok(update_profile_command(id, new_folded, old_name, fields), __FILE__, __LINE__);
}

// The by_username entries that point at user `id` are exactly `want`.
void expect_username_entries(int64_t id, const Members &want, const char *file, int line)
{
    Members got;
    for (const auto &[name, owner] : hgetall(K.by_username())) {
        if (owner == std::to_string(id)) got.insert(name);
    }
    if (got != want) {
        std::string g, w;
        for (const auto &m : got) g += " " + m;
        for (const auto &m : want) w += " " + m;
        print_error("by_username entries of user %lld differ\n  got: %s\n  want:%s\n", (long long)id, g.c_str(),
                    w.c_str());
        _fail(file, line);
    }
}
#define EXPECT_USERNAME_ENTRIES(id, ...) expect_username_entries((id), __VA_ARGS__, __FILE__, __LINE__)

void test_update_profile_renames(void **)
{
    Hash alice = put_user(7, "alice", "alice@example.com");
    put_user(8, "bob", "bob@example.com");
    EXPECT_INT(update_profile(7, "alicia", "alice", {{"username", "Alicia"}, {"first_name", "A"}}), 1);
    alice["username"] = "Alicia";
    alice["first_name"] = "A";
    EXPECT_HASH(K.user(7), alice);
    EXPECT_HASH(K.by_username(), {{"alicia", "7"}, {"bob", "8"}});
}

void test_update_profile_fields_only(void **)
{
    Hash alice = put_user(7, "alice", "alice@example.com");
    EXPECT_INT(update_profile(7, "", "alice", {{"last_name", "Liddell"}}), 1);
    alice["last_name"] = "Liddell";
    EXPECT_HASH(K.user(7), alice);
    EXPECT_HASH(K.by_username(), {{"alice", "7"}});
    // Nothing to set at all.
    std::string before = snapshot();
    EXPECT_INT(update_profile(7, "", "alice", {}), 1);
    EXPECT_UNCHANGED(before);
}

void test_update_profile_case_change_keeps_index(void **)
{
    Hash alice = put_user(7, "alice", "alice@example.com");
    EXPECT_INT(update_profile(7, "alice", "alice", {{"username", "ALICE"}}), 1);
    alice["username"] = "ALICE";
    EXPECT_HASH(K.user(7), alice);
    EXPECT_HASH(K.by_username(), {{"alice", "7"}});
}

void test_update_profile_username_taken(void **)
{
    put_user(7, "alice", "alice@example.com");
    put_user(8, "bob", "bob@example.com");
    std::string before = snapshot();
    EXPECT_INT(update_profile(7, "bob", "alice", {{"username", "Bob"}, {"first_name", "X"}}), -1);
    EXPECT_UNCHANGED(before);
}

void test_update_profile_user_gone(void **)
{
    put_user(8, "bob", "bob@example.com");
    std::string before = snapshot();
    EXPECT_INT(update_profile(7, "alicia", "alice", {{"username", "alicia"}}), 0);
    EXPECT_UNCHANGED(before);  // no index entry for a user that is not there
}

void test_update_profile_stale_name_refused(void **)
{
    // The caller read its name before another request renamed the user (the
    // old name may since be someone else's): the script reads the current
    // name itself, refuses (-2) and writes nothing; the caller re-reads and
    // tries again.
    put_user(7, "alicia", "alice@example.com");
    put_user(9, "alice", "alice2@example.com");
    std::string before = snapshot();
    EXPECT_INT(update_profile(7, "ally", "alice", {{"username", "ally"}, {"first_name", "A"}}), -2);
    EXPECT_UNCHANGED(before);
    EXPECT_INT(update_profile(7, "ally", "alicia", {{"username", "ally"}}), 1);
    EXPECT_HASH(K.by_username(), {{"alice", "9"}, {"ally", "7"}});
    // Fields alone need no name: a stale one does not matter.
    EXPECT_INT(update_profile(7, "", "alice", {{"last_name", "L"}}), 1);
    assert_string_equal(hgetall(K.user(7))["last_name"].c_str(), "L");
}

// Ten renames of one user, each with the name the request read before any
// of them ran (a script is atomic, so this order is what ten concurrent
// PATCHes can produce): one rename happens, and the index keeps exactly one
// entry for the user, the one of its current name.
void test_update_profile_rename_race_stale_names(void **)
{
    put_user(7, "alice", "alice@example.com");
    put_user(8, "bob", "bob@example.com");
    int renamed = 0;
    for (int i = 0; i < 10; i++) {
        std::string name = "alice" + std::to_string(i);
        RedisValue v = update_profile(7, name, "alice", {{"username", name}});
        if (v.integer == 1) renamed++;
        else EXPECT_INT(v, -2);
    }
    assert_int_equal(renamed, 1);
    EXPECT_USERNAME_ENTRIES(7, {"alice0"});
    assert_string_equal(hgetall(K.user(7))["username"].c_str(), "alice0");
    EXPECT_USERNAME_ENTRIES(8, {"bob"});
}

// The same with real concurrent clients that retry as the endpoint does
// (re-read the name, run the script again): every rename lands, one after
// the other, and one index entry is left, the final name's.
void test_update_profile_rename_race_concurrent(void **)
{
    put_user(7, "Alice", "alice@example.com");
    constexpr int kClients = 10;
    std::vector<int> done(kClients, 0);
    std::vector<std::thread> threads;
    for (int i = 0; i < kClients; i++) {
        threads.emplace_back([i, &done] {
            redisContext *c = connect_server();
            if (c == nullptr) return;
            std::string name = "Ren" + std::to_string(i);
            for (int attempt = 0; attempt < 1000 && !done[i]; attempt++) {
                RedisValue cur = send_on(c, {"HGET", K.user(7), "username"});
                RedisValue v = send_on(c, update_profile_command(7, restauth::fold_case(name), cur.str,
                                                                 {{"username", name}}));
                if (v.type != RedisValue::Type::Integer || (v.integer != 1 && v.integer != -2)) break;
                if (v.integer == 1) done[i] = 1;
            }
            redisFree(c);
        });
    }
    for (auto &t : threads) t.join();
    for (int i = 0; i < kClients; i++) assert_int_equal(done[i], 1);
    std::string final_name = hgetall(K.user(7))["username"];
    EXPECT_USERNAME_ENTRIES(7, {restauth::fold_case(final_name)});
    assert_int_equal(hgetall(K.by_username()).size(), 1);
}

// ============================================================================
// set_password (KEYS user, sessions, tokens; ARGV prefix, expected hash or '',
// new hash, keep, revoke)
// ============================================================================

RedisValue set_password(int64_t id, const std::string &expected, const std::string &hash, const std::string &keep,
                        bool revoke)
{
    return EVAL(restauth::lua::set_password, {K.user(id), K.user_sessions(id), K.user_tokens(id)},
                {kPrefix, expected, hash, keep, revoke ? "1" : "0"});
}

void test_set_password_revokes_all_but_kept_session(void **)
{
    Hash alice = put_user(7, "alice", "alice@example.com");
    put_user(8, "bob", "bob@example.com");
    put_session(7, "s1", "j1");
    put_session(7, "s2", "j2");
    put_session(7, "s3", "j3");
    put_session(8, "b1", "jb");
    put_opaque(7, "d1");
    put_opaque(8, "db");
    EXPECT_INT(set_password(7, "", kNewHash, "s2", true), 1);
    alice["password"] = kNewHash;
    EXPECT_HASH(K.user(7), alice);
    EXPECT_GONE(K.session("s1"));
    EXPECT_GONE(K.session("s3"));
    EXPECT_HASH(K.session("s2"), session_hash(7, "j2"));
    EXPECT_MEMBERS(K.user_sessions(7), {"s2"});
    EXPECT_GONE(K.opaque_token("d1"));
    EXPECT_GONE(K.user_tokens(7));
    // Another user's are untouched.
    EXPECT_HASH(K.session("b1"), session_hash(8, "jb"));
    EXPECT_MEMBERS(K.user_sessions(8), {"b1"});
    assert_true(exists(K.opaque_token("db")));
}

void test_set_password_keeps_current_opaque_key(void **)
{
    put_user(7, "alice", "alice@example.com");
    put_session(7, "s1", "j1");
    put_opaque(7, "d1");
    put_opaque(7, "d2");
    EXPECT_INT(set_password(7, "", kNewHash, "d2", true), 1);
    EXPECT_GONE(K.session("s1"));
    EXPECT_GONE(K.user_sessions(7));
    EXPECT_GONE(K.opaque_token("d1"));
    assert_true(exists(K.opaque_token("d2")));
    EXPECT_MEMBERS(K.user_tokens(7), {"d2"});
}

void test_set_password_without_revoking(void **)
{
    put_user(7, "alice", "alice@example.com");
    put_session(7, "s1", "j1");
    put_opaque(7, "d1");
    EXPECT_INT(set_password(7, "", kNewHash, "", false), 1);
    assert_string_equal(hgetall(K.user(7))["password"].c_str(), kNewHash.c_str());
    EXPECT_HASH(K.session("s1"), session_hash(7, "j1"));
    EXPECT_MEMBERS(K.user_tokens(7), {"d1"});
}

void test_set_password_refusals(void **)
{
    put_user(7, "alice", "alice@example.com");
    put_session(7, "s1", "j1");
    std::string before = snapshot();
    // The password changed since the caller read it.
    EXPECT_INT(set_password(7, kUpgraded, kNewHash, "", true), -1);
    EXPECT_UNCHANGED(before);
    // The user is gone.
    EXPECT_INT(set_password(9, "", kNewHash, "", true), 0);
    EXPECT_UNCHANGED(before);
    // The expected hash matches: done.
    EXPECT_INT(set_password(7, kHash, kNewHash, "", true), 1);
    EXPECT_GONE(K.session("s1"));
}

// ============================================================================
// start_session (KEYS user, session, user's sessions; ARGV last_login, ttl,
// old hash, new hash or '', sid, prefix, cap, created, session fields)
// ============================================================================

RedisValue start_session(int64_t id, const std::string &sid, const std::string &read_hash,
                         const std::string &upgraded, const std::string &jti, unsigned cap = 100)
{
    std::vector<std::string> args{"2023-11-14T22:13:20Z", "86400", read_hash, upgraded, sid, kPrefix,
                                  std::to_string(cap), std::to_string(kNow)};
    for (const auto &[k, v] : session_hash(id, jti)) {
        args.push_back(k);
        args.push_back(v);
    }
    return EVAL(restauth::lua::start_session, {K.user(id), K.session(sid), K.user_sessions(id)}, args);
}

void test_start_session(void **)
{
    Hash alice = put_user(7, "alice", "alice@example.com");
    put_session(7, "old", "j0");
    R("EXPIRE", K.user_sessions(7), "10");
    EXPECT_INT(start_session(7, "s1", kHash, "", "j1"), 1);
    alice["last_login"] = "2023-11-14T22:13:20Z";
    EXPECT_HASH(K.user(7), alice);
    EXPECT_HASH(K.session("s1"), session_hash(7, "j1"));
    EXPECT_TTL(K.session("s1"), 86000, 86400);
    EXPECT_MEMBERS(K.user_sessions(7), {"old", "s1"});
    EXPECT_TTL(K.user_sessions(7), 86000, 86400);  // extended to the newest session
}

void test_start_session_upgrades_hash(void **)
{
    Hash alice = put_user(7, "alice", "alice@example.com");
    EXPECT_INT(start_session(7, "s1", kHash, kUpgraded, "j1"), 1);
    assert_string_equal(hgetall(K.user(7))["password"].c_str(), kUpgraded.c_str());
}

void test_start_session_no_upgrade_over_a_new_password(void **)
{
    // The password changed between the login's read and its session start:
    // the upgrade (of the old password) must not overwrite it.
    put_user(7, "alice", "alice@example.com", kNewHash);
    EXPECT_INT(start_session(7, "s1", kHash, kUpgraded, "j1"), 1);
    assert_string_equal(hgetall(K.user(7))["password"].c_str(), kNewHash.c_str());
}

void test_start_session_user_gone(void **)
{
    put_user(8, "bob", "bob@example.com");
    std::string before = snapshot();
    EXPECT_INT(start_session(7, "s1", kHash, kUpgraded, "j1"), 0);
    EXPECT_UNCHANGED(before);
}

// ============================================================================
// start_opaque (KEYS user, token, user's tokens; ARGV last_login, old hash,
// new hash or '', user id, created, digest, prefix, cap)
// ============================================================================

RedisValue start_opaque(int64_t id, const std::string &digest, const std::string &read_hash,
                        const std::string &upgraded, unsigned cap = 100)
{
    return EVAL(restauth::lua::start_opaque, {K.user(id), K.opaque_token(digest), K.user_tokens(id)},
                {"2023-11-14T22:13:20Z", read_hash, upgraded, std::to_string(id), std::to_string(kNow), digest,
                 kPrefix, std::to_string(cap)});
}

void test_start_opaque(void **)
{
    Hash alice = put_user(7, "alice", "alice@example.com");
    std::string digest = restauth::sha256_hex("0123456789abcdef0123456789abcdef01234567");
    EXPECT_INT(start_opaque(7, digest, kHash, ""), 1);
    alice["last_login"] = "2023-11-14T22:13:20Z";
    EXPECT_HASH(K.user(7), alice);
    EXPECT_HASH(K.opaque_token(digest), {{"user_id", "7"}, {"created", std::to_string(kNow)}});
    EXPECT_MEMBERS(K.user_tokens(7), {digest});
    EXPECT_INT(start_opaque(7, "d2", kHash, kUpgraded), 1);
    EXPECT_MEMBERS(K.user_tokens(7), {digest, "d2"});
    assert_string_equal(hgetall(K.user(7))["password"].c_str(), kUpgraded.c_str());
}

void test_start_opaque_refusals(void **)
{
    put_user(7, "alice", "alice@example.com", kNewHash);
    EXPECT_INT(start_opaque(7, "d1", kHash, kUpgraded), 1);  // password changed meanwhile
    assert_string_equal(hgetall(K.user(7))["password"].c_str(), kNewHash.c_str());
    std::string before = snapshot();
    EXPECT_INT(start_opaque(9, "d9", kHash, ""), 0);
    EXPECT_UNCHANGED(before);
}

// ============================================================================
// rotate_session (KEYS session, user; ARGV presented jti, new jti, now, ttl,
// sid, user's sessions)
// ============================================================================

RedisValue rotate(redisContext *c, int64_t uid, const std::string &sid, const std::string &presented,
                  const std::string &next, int64_t now = kNow + 60)
{
    return send_on(c, eval(restauth::lua::rotate_session, {K.session(sid), K.user(uid)},
                        {presented, next, std::to_string(now), "86400", sid, K.user_sessions(uid)}));
}

RedisValue rotate(int64_t uid, const std::string &sid, const std::string &presented, const std::string &next,
                  int64_t now = kNow + 60)
{
    return rotate(g_redis, uid, sid, presented, next, now);
}

long long status_of(const RedisValue &v)
{
    if (v.type != RedisValue::Type::Array || v.elements.empty()) fail_msg("not a rotation reply");
    return v.elements[0].integer;
}

void test_rotate_session(void **)
{
    Hash alice = put_user(7, "alice", "alice@example.com");
    put_session(7, "s1", "j1");
    R("EXPIRE", K.session("s1"), "100");
    RedisValue v = rotate(7, "s1", "j1", "j2", kNow + 60);
    assert_int_equal(status_of(v), 1);
    Hash user;
    for (size_t i = 1; i + 1 < v.elements.size(); i += 2) user[v.elements[i].str] = v.elements[i + 1].str;
    assert_true(user == alice);  // the user's hash follows the status
    Hash session = session_hash(7, "j2");
    session["last_used"] = std::to_string(kNow + 60);
    session["expires"] = std::to_string(kNow + 60 + 86400);  // an integer, not 1.7e+09
    EXPECT_HASH(K.session("s1"), session);
    EXPECT_TTL(K.session("s1"), 86000, 86400);
    EXPECT_MEMBERS(K.user_sessions(7), {"s1"});
}

// The user's session set must outlive every session in it: logout-all,
// password change and reset find sessions only through it.  Login sets
// both TTLs to the refresh lifetime; a refresh near the end of that
// lifetime renews the session's, so it must renew the set's too, or the
// set expires first and the refreshed session can no longer be revoked
// (or listed).  Time is simulated by shortening both TTLs, as if most of
// the lifetime had passed since the login.
void test_rotate_session_keeps_session_set_alive(void **)
{
    put_user(7, "alice", "alice@example.com");
    put_session(7, "s1", "j1");
    R("EXPIRE", K.session("s1"), "100");
    R("EXPIRE", K.user_sessions(7), "100");
    assert_int_equal(status_of(rotate(7, "s1", "j1", "j2")), 1);
    EXPECT_TTL(K.session("s1"), 86000, 86400);
    EXPECT_TTL(K.user_sessions(7), ttl(K.session("s1")) - 2, 86400);  // 2: reads a moment apart
}

void test_rotate_session_unknown(void **)
{
    put_user(7, "alice", "alice@example.com");
    put_session(7, "other", "jo");
    std::string before = snapshot();
    RedisValue v = rotate(7, "s1", "j1", "j2");
    assert_int_equal(status_of(v), 0);
    assert_int_equal(v.elements.size(), 1);
    EXPECT_UNCHANGED(before);
}

void test_rotate_session_reuse_revokes(void **)
{
    put_user(7, "alice", "alice@example.com");
    put_session(7, "s1", "j2");  // already rotated from j1 to j2
    put_session(7, "s2", "k1");
    RedisValue v = rotate(7, "s1", "j1", "j3");
    assert_int_equal(status_of(v), -1);
    assert_int_equal(v.elements.size(), 1);
    EXPECT_GONE(K.session("s1"));
    EXPECT_MEMBERS(K.user_sessions(7), {"s2"});
    EXPECT_HASH(K.session("s2"), session_hash(7, "k1"));
    // The current token of the revoked session is dead too.
    assert_int_equal(status_of(rotate(7, "s1", "j2", "j4")), 0);
}

void test_rotate_session_user_gone_or_inactive(void **)
{
    put_user(7, "alice", "alice@example.com");
    put_session(7, "s1", "j1");
    R("HSET", K.user(7), "is_active", "0");
    RedisValue v = rotate(7, "s1", "j1", "j2");
    assert_int_equal(status_of(v), -2);
    assert_int_equal(v.elements.size(), 1);  // no user data for an inactive user
    EXPECT_GONE(K.session("s1"));
    EXPECT_GONE(K.user_sessions(7));

    put_session(8, "b1", "jb");  // user 8 never existed
    assert_int_equal(status_of(rotate(8, "b1", "jb", "j2")), -2);
    EXPECT_GONE(K.session("b1"));
    EXPECT_GONE(K.user_sessions(8));
}

// Concurrent refreshes of one token: one wins, the next one in Redis's
// order is reuse and revokes the session, the rest find no session.
void test_rotate_session_concurrent_same_token(void **)
{
    put_user(7, "alice", "alice@example.com");
    put_session(7, "s1", "j1");
    constexpr int kClients = 8;
    std::vector<long long> status(kClients, 99);
    std::vector<std::thread> threads;
    for (int i = 0; i < kClients; i++) {
        threads.emplace_back([i, &status] {
            redisContext *c = connect_server();
            if (c == nullptr) return;
            RedisValue v = send_on(c, eval(restauth::lua::rotate_session, {K.session("s1"), K.user(7)},
                                        {"j1", "next" + std::to_string(i), std::to_string(kNow + 60), "86400",
                                         "s1", K.user_sessions(7)}));
            if (v.type == RedisValue::Type::Array && !v.elements.empty()) status[i] = v.elements[0].integer;
            redisFree(c);
        });
    }
    for (auto &t : threads) t.join();
    int ok = 0, reuse = 0, gone = 0;
    for (long long s : status) {
        if (s == 1) ok++;
        else if (s == -1) reuse++;
        else if (s == 0) gone++;
    }
    assert_int_equal(ok, 1);
    assert_int_equal(reuse, 1);
    assert_int_equal(gone, kClients - 2);
    EXPECT_GONE(K.session("s1"));
    EXPECT_GONE(K.user_sessions(7));
}

// ============================================================================
// end_session (KEYS session, user's sessions; ARGV jti, sid)
// ============================================================================

RedisValue end_session(int64_t uid, const std::string &sid, const std::string &jti)
{
    return EVAL(restauth::lua::end_session, {K.session(sid), K.user_sessions(uid)}, {jti, sid});
}

void test_end_session(void **)
{
    put_user(7, "alice", "alice@example.com");
    put_session(7, "s1", "j1");
    put_session(7, "s2", "j2");
    EXPECT_INT(end_session(7, "s1", "j1"), 1);
    EXPECT_GONE(K.session("s1"));
    EXPECT_MEMBERS(K.user_sessions(7), {"s2"});
    EXPECT_HASH(K.session("s2"), session_hash(7, "j2"));
    // Logging out twice: unknown the second time.
    std::string before = snapshot();
    EXPECT_INT(end_session(7, "s1", "j1"), 0);
    EXPECT_UNCHANGED(before);
}

void test_end_session_stale_jti_revokes(void **)
{
    put_user(7, "alice", "alice@example.com");
    put_session(7, "s1", "j2");
    EXPECT_INT(end_session(7, "s1", "j1"), -1);
    EXPECT_GONE(K.session("s1"));
    EXPECT_GONE(K.user_sessions(7));
}

// ============================================================================
// end_all_sessions (KEYS user's sessions, user's opaque keys; ARGV prefix)
// ============================================================================

// -> how many are left (0: done)
RedisValue end_all_sessions(int64_t id, const std::string &keep = "")
{
    return EVAL(restauth::lua::end_all_sessions, {K.user_sessions(id), K.user_tokens(id)}, {kPrefix, keep});
}

void test_end_all_sessions(void **)
{
    put_user(7, "alice", "alice@example.com");
    put_user(8, "bob", "bob@example.com");
    for (const char *sid : {"s1", "s2", "s3", "s4", "s5"}) put_session(7, sid, std::string("j") + sid);
    R("ZADD", K.user_sessions(7), "1", "expired");  // a member whose session expired
    put_session(8, "b1", "jb");
    EXPECT_INT(end_all_sessions(7), 0);  // none left
    for (const char *sid : {"s1", "s2", "s3", "s4", "s5"}) EXPECT_GONE(K.session(sid));
    EXPECT_GONE(K.user_sessions(7));
    EXPECT_HASH(K.session("b1"), session_hash(8, "jb"));
    EXPECT_MEMBERS(K.user_sessions(8), {"b1"});
    // Nothing left: 0, and nothing written.
    std::string before = snapshot();
    EXPECT_INT(end_all_sessions(7), 0);
    EXPECT_UNCHANGED(before);
}

// Every path that ends a user's sessions ends its opaque keys too (the
// CLI's deactivate runs this script).
void test_end_all_sessions_revokes_opaque_keys(void **)
{
    put_user(7, "alice", "alice@example.com");
    put_user(8, "bob", "bob@example.com");
    put_session(7, "s1", "j1");
    put_opaque(7, "d1");
    put_opaque(7, "d2");
    put_opaque(8, "db");
    EXPECT_INT(end_all_sessions(7), 0);
    EXPECT_GONE(K.session("s1"));
    EXPECT_GONE(K.opaque_token("d1"));
    EXPECT_GONE(K.opaque_token("d2"));
    EXPECT_GONE(K.user_tokens(7));
    EXPECT_HASH(K.opaque_token("db"), {{"user_id", "8"}, {"created", std::to_string(kNow)}});
    EXPECT_MEMBERS(K.user_tokens(8), {"db"});
}

// ============================================================================
// list_sessions (KEYS user's sessions; ARGV prefix)
// ============================================================================

void test_list_sessions(void **)
{
    put_user(7, "alice", "alice@example.com");
    put_session(7, "s1", "j1");
    put_session(7, "s2", "j2");
    R("ZADD", K.user_sessions(7), "1", "expired");
    RedisValue v = EVAL(restauth::lua::list_sessions, {K.user_sessions(7)}, {kPrefix, "100"});
    assert_int_equal(v.elements.size(), 2);
    std::map<std::string, Hash> got;
    for (const auto &s : v.elements) {
        assert_string_equal(s.elements.at(0).str.c_str(), "id");  // 'id' first
        Hash h;
        for (size_t i = 0; i + 1 < s.elements.size(); i += 2) h[s.elements[i].str] = s.elements[i + 1].str;
        got[s.elements.at(1).str] = h;
    }
    Hash s1 = session_hash(7, "j1");
    s1["id"] = "s1";
    Hash s2 = session_hash(7, "j2");
    s2["id"] = "s2";
    assert_true(got["s1"] == s1);
    assert_true(got["s2"] == s2);
    EXPECT_MEMBERS(K.user_sessions(7), {"s1", "s2"});  // the expired member pruned
}

void test_list_sessions_empty(void **)
{
    RedisValue v = EVAL(restauth::lua::list_sessions, {K.user_sessions(7)}, {kPrefix, "100"});
    assert_true(v.type == RedisValue::Type::Array);
    assert_int_equal(v.elements.size(), 0);
}

// ============================================================================
// delete_own_session (KEYS session, caller's sessions; ARGV caller id, sid)
// ============================================================================

RedisValue delete_own(int64_t caller, const std::string &sid)
{
    return EVAL(restauth::lua::delete_own_session, {K.session(sid), K.user_sessions(caller)},
                {std::to_string(caller), sid});
}

void test_delete_own_session(void **)
{
    put_user(7, "alice", "alice@example.com");
    put_session(7, "s1", "j1");
    put_session(7, "s2", "j2");
    EXPECT_INT(delete_own(7, "s2"), 1);
    EXPECT_GONE(K.session("s2"));
    EXPECT_MEMBERS(K.user_sessions(7), {"s1"});
}

void test_delete_own_session_refusals(void **)
{
    put_user(7, "alice", "alice@example.com");
    put_user(8, "bob", "bob@example.com");
    put_session(7, "s1", "j1");
    put_session(8, "b1", "jb");
    R("ZADD", K.user_sessions(7), "1", "b1");  // even if the caller's index names it
    std::string before = snapshot();
    EXPECT_INT(delete_own(7, "b1"), 0);  // someone else's
    EXPECT_INT(delete_own(7, "nope"), 0);
    EXPECT_UNCHANGED(before);
}

// ============================================================================
// Bounded per-user state (lib_index.lua, lib_revoke.lua): a login keeps the
// user's index at the cap by revoking the oldest; listing reads at most the
// cap; revocation works a step per run; an older version's plain set is
// sorted a step per run.
// ============================================================================

void test_start_session_evicts_the_oldest_beyond_the_cap(void **)
{
    put_user(7, "alice", "alice@example.com");
    put_session(7, "s1", "j1", kNow - 30);
    put_session(7, "s2", "j2", kNow - 20);
    put_session(7, "s3", "j3", kNow - 10);
    put_session(8, "b1", "jb", kNow - 99);  // another user's: untouched
    EXPECT_INT(start_session(7, "s4", kHash, "", "j4", 3), 1);
    EXPECT_GONE(K.session("s1"));  // revoked: its refresh token finds no session
    EXPECT_MEMBERS(K.user_sessions(7), {"s2", "s3", "s4"});
    EXPECT_HASH(K.session("s2"), [] { Hash h = session_hash(7, "j2"); h["created"] = std::to_string(kNow - 20); return h; }());
    assert_int_equal(status_of(rotate(7, "s1", "j1", "jx")), 0);
    EXPECT_MEMBERS(K.user_sessions(8), {"b1"});
    // Under the cap: nothing evicted.
    EXPECT_INT(start_session(7, "s5", kHash, "", "j5", 10), 1);
    EXPECT_MEMBERS(K.user_sessions(7), {"s2", "s3", "s4", "s5"});
}

// Logins within one second tie on the score: the new session is never the
// one evicted.
void test_start_session_never_evicts_the_new_session(void **)
{
    put_user(7, "alice", "alice@example.com");
    put_session(7, "zz1", "j1");
    put_session(7, "zz2", "j2");
    EXPECT_INT(start_session(7, "aa", kHash, "", "j3", 2), 1);  // "aa" sorts first among equal scores
    assert_true(exists(K.session("aa")));
    EXPECT_MEMBERS(K.user_sessions(7), {"aa", "zz2"});
    EXPECT_GONE(K.session("zz1"));
    EXPECT_INT(start_session(7, "a0", kHash, "", "j4", 1), 1);
    EXPECT_MEMBERS(K.user_sessions(7), {"a0"});
    EXPECT_GONE(K.session("aa"));
    EXPECT_GONE(K.session("zz2"));
}

// An index filled under a larger cap shrinks a bounded step per login.
void test_start_session_shrinks_an_index_over_the_cap_in_steps(void **)
{
    put_user(7, "alice", "alice@example.com");
    for (int i = 0; i < 450; i++) put_session(7, "s" + std::to_string(1000 + i), "j", kNow - 1000 + i);
    EXPECT_INT(start_session(7, "new1", kHash, "", "jn", 10), 1);
    assert_int_equal(card(K.user_sessions(7)), 451 - 200);  // at most 200 evicted per run
    EXPECT_GONE(K.session("s1000"));
    EXPECT_GONE(K.session("s1199"));
    assert_true(exists(K.session("s1200")));
    EXPECT_INT(start_session(7, "new2", kHash, "", "jn", 10), 1);
    EXPECT_INT(start_session(7, "new3", kHash, "", "jn", 10), 1);
    assert_int_equal(card(K.user_sessions(7)), 10);
    Members want{"new1", "new2", "new3"};
    for (int i = 443; i < 450; i++) want.insert("s" + std::to_string(1000 + i));
    EXPECT_MEMBERS(K.user_sessions(7), want);
    EXPECT_GONE(K.session("s1442"));
}

// A plain set from an older version: renamed aside, sorted in a step per
// run by each record's `created`, the oldest evicted, expired ones dropped.
void test_start_session_sorts_a_legacy_set_in_steps(void **)
{
    put_user(7, "alice", "alice@example.com");
    for (int i = 0; i < 250; i++) put_legacy_session(7, "s" + std::to_string(1000 + i), "j", kNow - 1000 + i);
    R("SADD", K.user_sessions(7), "expired");
    EXPECT_INT(start_session(7, "new1", kHash, "", "jn", 50), 1);
    assert_int_equal(card(unsorted(K.user_sessions(7))), 251 - 100);
    assert_int_equal(card(K.user_sessions(7)), 50);
    assert_true(exists(K.session("new1")));
    for (int run = 2; run <= 3; run++) {
        EXPECT_INT(start_session(7, "new" + std::to_string(run), kHash, "", "jn", 50), 1);
    }
    EXPECT_GONE(unsorted(K.user_sessions(7)));
    assert_int_equal(card(K.user_sessions(7)), 50);
    assert_true(exists(K.session("new3")));
    // no record is left outside the index: every session is either indexed or revoked
    long long records = 0;
    for (int i = 0; i < 250; i++) records += exists(K.session("s" + std::to_string(1000 + i))) ? 1 : 0;
    assert_int_equal(records + 3, 50 + 0);
    assert_true(exists(K.session("s1249")));  // the newest survive
    assert_string_equal(send({"ZSCORE", K.user_sessions(7), "s1249"}).str.c_str(),
                        std::to_string(kNow - 1000 + 249).c_str());
}

void test_start_opaque_evicts_the_oldest_key(void **)
{
    put_user(7, "alice", "alice@example.com");
    put_opaque(7, "d1", kNow - 20);
    put_opaque(7, "d2", kNow - 10);
    put_user(8, "bob", "bob@example.com");
    put_legacy_opaque(8, "db");
    EXPECT_INT(start_opaque(7, "d3", kHash, "", 2), 1);
    EXPECT_GONE(K.opaque_token("d1"));
    EXPECT_MEMBERS(K.user_tokens(7), {"d2", "d3"});
    assert_true(exists(K.opaque_token("d2")));
    // a legacy set is sorted first, then capped
    EXPECT_INT(start_opaque(8, "d8", kHash, "", 1), 1);
    EXPECT_GONE(K.opaque_token("db"));
    EXPECT_MEMBERS(K.user_tokens(8), {"d8"});
}

void test_list_sessions_reads_at_most_the_cap(void **)
{
    put_user(7, "alice", "alice@example.com");
    for (int i = 1; i <= 5; i++) put_session(7, "s" + std::to_string(i), "j", kNow + i);
    RedisValue v = EVAL(restauth::lua::list_sessions, {K.user_sessions(7)}, {kPrefix, "3"});
    assert_int_equal(v.elements.size(), 3);
    // the newest three, oldest first
    assert_string_equal(v.elements[0].elements.at(1).str.c_str(), "s3");
    assert_string_equal(v.elements[1].elements.at(1).str.c_str(), "s4");
    assert_string_equal(v.elements[2].elements.at(1).str.c_str(), "s5");
    EXPECT_MEMBERS(K.user_sessions(7), {"s1", "s2", "s3", "s4", "s5"});  // listing revokes nothing
}

void test_list_sessions_sorts_a_legacy_set(void **)
{
    put_user(7, "alice", "alice@example.com");
    put_legacy_session(7, "s1", "j1", kNow - 5);
    put_legacy_session(7, "s2", "j2", kNow - 9);
    R("SADD", K.user_sessions(7), "expired");
    put_hash(K.session("s0"), {{"user_id", "7"}, {"jti", "j0"}});  // no `created`: the oldest, still indexed
    R("SADD", K.user_sessions(7), "s0");
    RedisValue v = EVAL(restauth::lua::list_sessions, {K.user_sessions(7)}, {kPrefix, "100"});
    assert_int_equal(v.elements.size(), 3);
    assert_string_equal(v.elements[0].elements.at(1).str.c_str(), "s0");
    assert_string_equal(v.elements[1].elements.at(1).str.c_str(), "s2");
    assert_string_equal(v.elements[2].elements.at(1).str.c_str(), "s1");
    EXPECT_MEMBERS(K.user_sessions(7), {"s0", "s1", "s2"});
    EXPECT_TTL(K.user_sessions(7), 86000, 86400);  // the old set's expiry carried over
    EXPECT_GONE(unsorted(K.user_sessions(7)));
}

// More than one step (1000 records) to revoke: each run deletes a step and
// says how many are left, until none is; the kept session stays.
void test_end_all_sessions_in_steps(void **)
{
    put_user(7, "alice", "alice@example.com");
    for (int i = 0; i < 1800; i++) put_session(7, "s" + std::to_string(i), "j", kNow - i);
    for (int i = 0; i < 500; i++) put_legacy_opaque(7, "d" + std::to_string(i));
    EXPECT_INT(end_all_sessions(7, "s5"), 1800 - 1 - 1000 + 500);
    EXPECT_INT(end_all_sessions(7, "s5"), 500 - (1000 - 799));  // 799 sessions, then keys
    EXPECT_INT(end_all_sessions(7, "s5"), 0);
    EXPECT_MEMBERS(K.user_sessions(7), {"s5"});
    assert_true(exists(K.session("s5")));
    for (int i = 0; i < 1800; i++) {
        if (i != 5 && exists(K.session("s" + std::to_string(i)))) fail_msg("session s%d left", i);
    }
    for (int i = 0; i < 500; i++) {
        if (exists(K.opaque_token("d" + std::to_string(i)))) fail_msg("key d%d left", i);
    }
    EXPECT_GONE(K.user_tokens(7));
    EXPECT_GONE(unsorted(K.user_tokens(7)));
}

void test_end_all_sessions_legacy_sets(void **)
{
    put_user(7, "alice", "alice@example.com");
    for (int i = 0; i < 1500; i++) put_legacy_session(7, "s" + std::to_string(i), "j");
    EXPECT_INT(end_all_sessions(7), 500);
    EXPECT_INT(end_all_sessions(7), 0);
    for (int i = 0; i < 1500; i++) {
        if (exists(K.session("s" + std::to_string(i)))) fail_msg("session s%d left", i);
    }
    EXPECT_GONE(K.user_sessions(7));
    EXPECT_GONE(unsorted(K.user_sessions(7)));
}

// A password change over more than a step: set, revoke a step, report 2.
void test_set_password_reports_more_to_revoke(void **)
{
    put_user(7, "alice", "alice@example.com");
    for (int i = 0; i < 1100; i++) put_session(7, "s" + std::to_string(i), "j", kNow - i);
    EXPECT_INT(set_password(7, "", kNewHash, "s3", true), 2);
    assert_string_equal(hgetall(K.user(7))["password"].c_str(), kNewHash.c_str());
    EXPECT_INT(end_all_sessions(7, "s3"), 0);
    EXPECT_MEMBERS(K.user_sessions(7), {"s3"});
}

// Logout and rotation remove their member from an older version's set.
void test_end_session_and_rotate_on_a_legacy_set(void **)
{
    put_user(7, "alice", "alice@example.com");
    put_legacy_session(7, "s1", "j1");
    put_legacy_session(7, "s2", "j2");
    put_legacy_session(7, "s3", "j3");
    EXPECT_INT(end_session(7, "s1", "j1"), 1);
    EXPECT_MEMBERS(unsorted(K.user_sessions(7)), {"s2", "s3"});
    assert_int_equal(status_of(rotate(7, "s2", "stale", "j9")), -1);
    EXPECT_MEMBERS(unsorted(K.user_sessions(7)), {"s3"});
    EXPECT_INT(delete_own(7, "s3"), 1);
    EXPECT_GONE(unsorted(K.user_sessions(7)));
}

// ============================================================================
// rate_limit (built by append_rate_limit, read by limit_reached)
// ============================================================================

struct Limiter {
    restauth::Api api;
    Limiter(restauth::Limit limit, unsigned count, int64_t window)
    {
        api.settings.limits[size_t(limit)] = restauth::RateLimit{count, window};
    }
    // The core's command for one check.
    Command command(restauth::Limit limit, const std::string &subject, bool add) const
    {
        restauth::Call call(api, restauth::Request{});
        std::vector<Command> batch;
        int index = restauth::append_rate_limit(batch, call, limit, subject, add);
        if (index != 0 || batch.size() != 1) fail_msg("append_rate_limit appended no command");
        return batch[0];
    }
    RedisValue check(restauth::Limit limit, const std::string &subject, bool add) const
    {
        return send(command(limit, subject, add));
    }
};

bool reached(const RedisValue &v)
{
    return restauth::limit_reached({v}, 0);
}

void test_rate_limit_counts_to_the_boundary(void **)
{
    using restauth::Limit;
    Limiter l(Limit::LOGIN_IP, 3, 60);
    std::string key = l.command(Limit::LOGIN_IP, "192.0.2.1", true).at(3);
    assert_true(key.rfind(kPrefix + "rl:login_ip:", 0) == 0);
    for (int i = 1; i <= 3; i++) {
        RedisValue v = l.check(Limit::LOGIN_IP, "192.0.2.1", true);
        assert_false(reached(v));
        assert_int_equal(v.elements.size(), 2);
        assert_int_equal(v.elements[0].integer, 0);
        assert_string_equal(get(key).c_str(), std::to_string(i).c_str());
        EXPECT_TTL(key, 1, 60);
    }
    RedisValue v = l.check(Limit::LOGIN_IP, "192.0.2.1", true);
    assert_true(reached(v));
    assert_in_range(v.elements[1].integer, 1, 60);  // Retry-After
    assert_string_equal(get(key).c_str(), "3");       // a refusal counts nothing
    // Another subject has its own counter.
    assert_false(reached(l.check(Limit::LOGIN_IP, "192.0.2.2", true)));
}

void test_rate_limit_check_without_counting(void **)
{
    using restauth::Limit;
    Limiter l(Limit::MAIL_ADDRESS, 2, 600);
    std::string before = snapshot();
    for (int i = 0; i < 5; i++) assert_false(reached(l.check(Limit::MAIL_ADDRESS, "a@example.com", false)));
    EXPECT_UNCHANGED(before);
    assert_false(reached(l.check(Limit::MAIL_ADDRESS, "a@example.com", true)));
    assert_false(reached(l.check(Limit::MAIL_ADDRESS, "a@example.com", true)));
    assert_true(reached(l.check(Limit::MAIL_ADDRESS, "a@example.com", false)));
}

void test_rate_limit_window_expiry(void **)
{
    using restauth::Limit;
    Limiter l(Limit::REGISTRATION_IP, 1, 60);
    std::string key = l.command(Limit::REGISTRATION_IP, "ip", true).at(3);
    assert_false(reached(l.check(Limit::REGISTRATION_IP, "ip", true)));
    assert_true(reached(l.check(Limit::REGISTRATION_IP, "ip", true)));
    R("DEL", key);  // the window ended
    assert_false(reached(l.check(Limit::REGISTRATION_IP, "ip", true)));
    // A counter without a TTL (never made by the script) still answers a
    // positive Retry-After.
    R("PERSIST", key);
    RedisValue v = l.check(Limit::REGISTRATION_IP, "ip", true);
    assert_true(reached(v));
    assert_int_equal(v.elements[1].integer, 1);
}

void test_rate_limit_off_sends_nothing(void **)
{
    restauth::Api api;
    api.settings.limits[size_t(restauth::Limit::LOGIN_IP)].count = 0;  // "restauth_rate_limit login_ip off"
    restauth::Call call(api, restauth::Request{});
    std::vector<Command> batch;
    assert_int_equal(restauth::append_rate_limit(batch, call, restauth::Limit::LOGIN_IP, "x", true), -1);
    assert_int_equal(batch.size(), 0);
}

// 20 concurrent attempts against a limit of 5: exactly 5 pass.
void test_rate_limit_concurrent(void **)
{
    using restauth::Limit;
    Limiter l(Limit::MAIL_IP, 5, 60);
    Command cmd = l.command(Limit::MAIL_IP, "198.51.100.7", true);
    constexpr int kClients = 20;
    std::vector<int> allowed(kClients, -1);
    std::vector<std::thread> threads;
    for (int i = 0; i < kClients; i++) {
        threads.emplace_back([i, &cmd, &allowed] {
            redisContext *c = connect_server();
            if (c == nullptr) return;
            RedisValue v = send_on(c, cmd);
            if (v.type == RedisValue::Type::Array) allowed[i] = reached(v) ? 0 : 1;
            redisFree(c);
        });
    }
    for (auto &t : threads) t.join();
    int yes = 0, no = 0;
    for (int a : allowed) {
        if (a == 1) yes++;
        else if (a == 0) no++;
    }
    assert_int_equal(yes, 5);
    assert_int_equal(no, kClients - 5);
    assert_string_equal(get(cmd.at(3)).c_str(), "5");
}

// ============================================================================
// login_attempt (built by append_login_attempt, read by read_login_attempt,
// handed back by login_release)
// ============================================================================

struct Attempts {
    restauth::Api api;
    Attempts(unsigned ip_count, unsigned account_count, int64_t window = 60)
    {
        api.settings.limits[size_t(restauth::Limit::LOGIN_IP)] = restauth::RateLimit{ip_count, window};
        api.settings.limits[size_t(restauth::Limit::LOGIN_ACCOUNT)] = restauth::RateLimit{account_count, window};
    }
    restauth::LoginAttempt command(const std::string &ip, const std::string &login, Command &out) const
    {
        restauth::Call call(api, restauth::Request{});
        std::vector<Command> batch;
        restauth::LoginAttempt a = restauth::append_login_attempt(batch, call, ip, login);
        if (a.index != 0 || batch.size() != 1) fail_msg("append_login_attempt appended no command");
        out = batch[0];
        return a;
    }
    // One take: its verdict; `a` keeps what a release needs.
    restauth::LoginAttempt::Verdict take(const std::string &ip, const std::string &login,
                                         restauth::LoginAttempt &a, int *status = nullptr) const
    {
        Command cmd;
        a = command(ip, login, cmd);
        restauth::Call call(api, restauth::Request{});
        auto v = restauth::read_login_attempt(call, a, {send(cmd)});
        if (status) *status = call.status();
        return v;
    }
};

using Verdict = restauth::LoginAttempt::Verdict;

void release(const restauth::LoginAttempt &a)
{
    auto batch = restauth::login_release(a);
    if (batch.size() != 1) fail_msg("login_release sent %zu commands", batch.size());
    EXPECT_INT(send(batch[0]), 1);
}

void test_login_attempt_counts_before_the_hash(void **)
{
    Attempts l(5, 3);
    restauth::LoginAttempt a;
    for (int i = 1; i <= 3; i++) {
        assert_true(l.take("192.0.2.1", "ivan", a) == Verdict::Counted);
        assert_string_equal(get(a.ip_key).c_str(), std::to_string(i).c_str());
        assert_string_equal(get(a.account_key).c_str(), std::to_string(i).c_str());
        EXPECT_TTL(a.ip_key, 1, 60);
        EXPECT_TTL(a.account_key, 1, 60);
        assert_true(a.ip_end > 0 && a.account_end > 0);
    }
    assert_true(a.ip_key.rfind(kPrefix + "rl:login_ip:", 0) == 0);
    assert_true(a.account_key.rfind(kPrefix + "rl:login_account:", 0) == 0);
    // The account is at its limit: locked, counted against the address only.
    assert_true(l.take("192.0.2.1", "ivan", a) == Verdict::Locked);
    assert_string_equal(get(a.ip_key).c_str(), "4");
    assert_string_equal(get(a.account_key).c_str(), "3");
    assert_int_equal(a.account_end, 0);
    // Another name from the same address: the address's last attempt.
    assert_true(l.take("192.0.2.1", "judy", a) == Verdict::Counted);
    assert_string_equal(get(a.ip_key).c_str(), "5");
    // The address is at its limit: 429, and nothing is counted at all.
    std::string before = snapshot();
    int status = 0;
    assert_true(l.take("192.0.2.1", "mallory", a, &status) == Verdict::Throttled);
    assert_int_equal(status, 429);
    EXPECT_UNCHANGED(before);
    // Another address has its own counter.
    assert_true(l.take("192.0.2.2", "mallory", a) == Verdict::Counted);
}

void test_login_attempt_release(void **)
{
    Attempts l(5, 3);
    restauth::LoginAttempt first, second;
    assert_true(l.take("192.0.2.1", "ivan", first) == Verdict::Counted);
    assert_true(l.take("192.0.2.1", "ivan", second) == Verdict::Counted);
    release(second);  // undoes its own count, keeping the window
    assert_string_equal(get(first.ip_key).c_str(), "1");
    assert_string_equal(get(first.account_key).c_str(), "1");
    EXPECT_TTL(first.account_key, 1, 60);
    release(first);   // back at zero: deleted
    EXPECT_GONE(first.ip_key);
    EXPECT_GONE(first.account_key);

    // A locked attempt was counted against the address only, and only that
    // is handed back.
    restauth::LoginAttempt a;
    for (int i = 0; i < 3; i++) assert_true(l.take("192.0.2.9", "judy", a) == Verdict::Counted);
    restauth::LoginAttempt locked;
    assert_true(l.take("192.0.2.9", "judy", locked) == Verdict::Locked);
    release(locked);
    assert_string_equal(get(a.ip_key).c_str(), "3");
    assert_string_equal(get(a.account_key).c_str(), "3");
}

void test_login_attempt_release_keeps_later_windows(void **)
{
    Attempts l(5, 3);
    restauth::LoginAttempt old, now;
    assert_true(l.take("192.0.2.1", "ivan", old) == Verdict::Counted);
    // The window ends while the attempt is hashed: nothing to hand back.
    R("DEL", old.ip_key, old.account_key);
    std::string before = snapshot();
    release(old);
    EXPECT_UNCHANGED(before);
    // A later window (it ends later): the old attempt takes nothing from it.
    assert_true(l.take("192.0.2.1", "ivan", now) == Verdict::Counted);
    R("PEXPIRE", now.ip_key, "120000");
    R("PEXPIRE", now.account_key, "120000");
    R("INCR", now.ip_key);  // another attempt of that window
    before = snapshot();
    release(old);
    EXPECT_UNCHANGED(before);
    assert_string_equal(get(now.ip_key).c_str(), "2");
}

void test_login_attempt_limits_off(void **)
{
    {
        Attempts l(0, 0);
        restauth::Call call(l.api, restauth::Request{});
        std::vector<Command> batch;
        restauth::LoginAttempt a = restauth::append_login_attempt(batch, call, "192.0.2.1", "ivan");
        assert_int_equal(a.index, -1);
        assert_int_equal(batch.size(), 0);
        assert_true(restauth::read_login_attempt(call, a, {}) == Verdict::Counted);
        assert_int_equal(restauth::login_release(a).size(), 0);
    }
    Attempts l(0, 2);  // login_ip off: only the account counts
    restauth::LoginAttempt a;
    assert_true(l.take("192.0.2.1", "ivan", a) == Verdict::Counted);
    assert_true(l.take("192.0.2.1", "ivan", a) == Verdict::Counted);
    assert_int_equal(a.ip_end, 0);
    assert_false(exists(a.ip_key));
    assert_true(l.take("192.0.2.1", "ivan", a) == Verdict::Locked);
    assert_false(exists(a.ip_key));
    assert_string_equal(get(a.account_key).c_str(), "2");
}

// 20 concurrent attempts at one account with a limit of 5: exactly 5 get
// a verdict, all 20 count against the address.
void test_login_attempt_concurrent(void **)
{
    Attempts l(100, 5);
    Command cmd;
    restauth::LoginAttempt proto = l.command("198.51.100.7", "ivan", cmd);
    constexpr int kClients = 20;
    std::vector<int> counted(kClients, -1);
    std::vector<std::thread> threads;
    for (int i = 0; i < kClients; i++) {
        threads.emplace_back([i, &cmd, &counted] {
            redisContext *c = connect_server();
            if (c == nullptr) return;
            RedisValue v = send_on(c, cmd);
            if (v.type == RedisValue::Type::Array && !v.elements.empty()) counted[i] = int(v.elements[0].integer);
            redisFree(c);
        });
    }
    for (auto &t : threads) t.join();
    int yes = 0, locked = 0;
    for (int c : counted) {
        if (c == 0) yes++;
        else if (c == 2) locked++;
    }
    assert_int_equal(yes, 5);
    assert_int_equal(locked, kClients - 5);
    assert_string_equal(get(proto.account_key).c_str(), "5");
    assert_string_equal(get(proto.ip_key).c_str(), "20");
}

// ============================================================================
// register (KEYS next_id, by_username, by_email; ARGV prefix, folded
// username, folded email, key digest or '', ttl, stream, its MAXLEN, email,
// n, mail fields, user fields)
// ============================================================================

// The MAXLEN the mail scripts get (restauth_mail_stream_maxlen); a test of
// the trimming lowers it with MaxlenGuard.
std::string g_maxlen = "10000";

struct MaxlenGuard {
    explicit MaxlenGuard(std::string n) { g_maxlen = std::move(n); }
    ~MaxlenGuard() { g_maxlen = "10000"; }
};

struct Registration {
    std::string username;
    std::string email;
    std::string key;  // '' : no verification
};

Fields registration_mail(const Registration &r)
{
    if (r.key.empty()) return {};
    return {{"to", r.email}, {"subject", "Confirm your e-mail address"}, {"body", "Please confirm: " + r.key},
            {"kind", "email_verification"}, {"key", r.key}};
}

Hash registered_user(int64_t id, const Registration &r)
{
    Hash h = user_hash(id, r.username, r.email);
    h["email_verified"] = "0";
    h["date_joined"] = "2023-11-14T22:13:20Z";
    return h;
}

Command register_command(const Registration &r)
{
    std::vector<std::string> args{kPrefix, restauth::fold_case(r.username), restauth::fold_case(r.email),
                                  r.key.empty() ? "" : restauth::sha256_hex(r.key), "259200", kStream, g_maxlen,
                                  r.email};
    Fields mail = registration_mail(r);
    args.push_back(std::to_string(mail.size() * 2));
    for (const auto &[k, v] : mail) {
        args.push_back(k);
        args.push_back(v);
    }
    // The user's fields in the core's order.
    Hash u = registered_user(0, r);
    for (const char *f : {"username", "email", "password", "first_name", "last_name", "is_active", "is_staff",
                          "is_superuser", "email_verified", "date_joined", "last_login"}) {
        args.push_back(f);
        args.push_back(u[f]);
    }
    return eval(restauth::lua::register_user, {K.next_id(), K.by_username(), K.by_email()}, args);
}

RedisValue register_user(const Registration &r)
{
    return run_ok(register_command(r), __FILE__, __LINE__);
}

void test_register_with_verification(void **)
{
    Registration r{"Alice", "Alice@Example.com", "raw-verification-key"};
    EXPECT_INT(register_user(r), 1);
    EXPECT_HASH(K.user(1), registered_user(1, r));
    EXPECT_HASH(K.by_username(), {{"alice", "1"}});
    EXPECT_HASH(K.by_email(), {{"alice@example.com", "1"}});
    assert_string_equal(get(K.next_id()).c_str(), "1");
    std::string vkey = K.verify_key(restauth::sha256_hex(r.key));
    EXPECT_HASH(vkey, {{"user_id", "1"}, {"email", "Alice@Example.com"}});
    EXPECT_TTL(vkey, 259000, 259200);
    auto mail = xrange(kStream);
    assert_int_equal(mail.size(), 1);
    EXPECT_FIELDS(mail[0].fields, {{"to", "Alice@Example.com"},
                                   {"subject", "Confirm your e-mail address"},
                                   {"body", "Please confirm: raw-verification-key"},
                                   {"kind", "email_verification"},
                                   {"key", "raw-verification-key"}});
}

void test_register_without_verification(void **)
{
    Registration r{"bob", "bob@example.com", ""};
    EXPECT_INT(register_user(r), 1);
    EXPECT_HASH(K.user(1), registered_user(1, r));
    assert_false(exists(kStream));
    RedisValue keys = R("KEYS", kPrefix + "verify:*");
    assert_int_equal(keys.elements.size(), 0);
}

void test_register_refuses_taken_names(void **)
{
    EXPECT_INT(register_user({"alice", "alice@example.com", "k1"}), 1);
    std::string before = snapshot();
    EXPECT_INT(register_user({"ALICE", "new@example.com", "k2"}), -1);
    EXPECT_UNCHANGED(before);
    EXPECT_INT(register_user({"new", "ALICE@example.com", "k3"}), -2);
    EXPECT_UNCHANGED(before);
    EXPECT_INT(register_user({"Alice", "Alice@Example.COM", "k4"}), -3);
    EXPECT_UNCHANGED(before);  // no id taken, no verification key, no mail
}

void test_register_skips_ids_in_use(void **)
{
    put_user(1, "imported", "imported@example.com");
    EXPECT_INT(register_user({"new", "new@example.com", ""}), 2);
    EXPECT_HASH(K.user(1), user_hash(1, "imported", "imported@example.com"));
}

// Two registrations of one username, both past the endpoint's HEXISTS
// check: the second script refuses and writes nothing.
void test_register_race_same_username(void **)
{
    Registration a{"carol", "carol@example.com", "ka"};
    Registration b{"Carol", "other@example.com", "kb"};
    EXPECT_INT(R("HEXISTS", K.by_username(), "carol"), 0);  // both requests' checks
    EXPECT_INT(register_user(a), 1);
    std::string before = snapshot();
    EXPECT_INT(register_user(b), -1);
    EXPECT_UNCHANGED(before);
    assert_int_equal(xrange(kStream).size(), 1);
}

// Many clients at once, same username, different addresses: one user.
void test_register_concurrent(void **)
{
    constexpr int kClients = 12;
    std::vector<long long> ids(kClients, 0);
    std::vector<std::thread> threads;
    std::vector<Command> cmds;
    for (int i = 0; i < kClients; i++) {
        cmds.push_back(register_command({"dave", "dave" + std::to_string(i) + "@example.com", "k" + std::to_string(i)}));
    }
    for (int i = 0; i < kClients; i++) {
        threads.emplace_back([i, &cmds, &ids] {
            redisContext *c = connect_server();
            if (c == nullptr) return;
            RedisValue v = send_on(c, cmds[i]);
            if (v.type == RedisValue::Type::Integer) ids[i] = v.integer;
            redisFree(c);
        });
    }
    for (auto &t : threads) t.join();
    int created = 0, refused = 0;
    for (long long id : ids) {
        if (id == 1) created++;
        else if (id == -1) refused++;
    }
    assert_int_equal(created, 1);
    assert_int_equal(refused, kClients - 1);
    assert_string_equal(get(K.next_id()).c_str(), "1");
    assert_int_equal(hgetall(K.by_email()).size(), 1);
    assert_int_equal(xrange(kStream).size(), 1);
    assert_int_equal(R("KEYS", kPrefix + "verify:*").elements.size(), 1);
}

// ============================================================================
// resend_verification (KEYS by_email; ARGV prefix, folded email, digest, ttl,
// stream, its MAXLEN, mail fields)
// ============================================================================

RedisValue resend(const std::string &email, const std::string &key)
{
    return EVAL(restauth::lua::resend_verification, {K.by_email()},
                {kPrefix, restauth::fold_case(email), restauth::sha256_hex(key), "259200", kStream, g_maxlen, "subject",
                 "Confirm your e-mail address", "body", "key: " + key, "kind", "email_verification", "key", key});
}

void test_resend_verification(void **)
{
    put_user(7, "alice", "Alice@example.com");
    R("HSET", K.user(7), "email_verified", "0");
    EXPECT_INT(resend("ALICE@EXAMPLE.COM", "k1"), 7);
    std::string vkey = K.verify_key(restauth::sha256_hex("k1"));
    EXPECT_HASH(vkey, {{"user_id", "7"}, {"email", "Alice@example.com"}});
    EXPECT_TTL(vkey, 259000, 259200);
    auto mail = xrange(kStream);
    assert_int_equal(mail.size(), 1);
    EXPECT_FIELDS(mail[0].fields, {{"to", "Alice@example.com"},  // from the user's record
                                   {"subject", "Confirm your e-mail address"},
                                   {"body", "key: k1"},
                                   {"kind", "email_verification"},
                                   {"key", "k1"}});
}

void test_resend_verification_refusals(void **)
{
    put_user(7, "alice", "alice@example.com");  // already verified
    put_user(8, "bob", "bob@example.com");
    R("HSET", K.user(8), "email_verified", "0", "email", "");  // address removed since
    R("HSET", K.by_email(), "gone@example.com", "9");          // index of a deleted user
    std::string before = snapshot();
    EXPECT_INT(resend("alice@example.com", "k1"), 0);
    EXPECT_INT(resend("bob@example.com", "k2"), 0);
    EXPECT_INT(resend("gone@example.com", "k3"), 0);
    EXPECT_INT(resend("nobody@example.com", "k4"), 0);
    EXPECT_UNCHANGED(before);
}

// ============================================================================
// verify_email (KEYS the key's record; ARGV prefix)
// ============================================================================

RedisValue verify(const std::string &key)
{
    return EVAL(restauth::lua::verify_email, {K.verify_key(restauth::sha256_hex(key))}, {kPrefix});
}

void put_verify(const std::string &key, int64_t uid, const std::string &email)
{
    std::string k = K.verify_key(restauth::sha256_hex(key));
    put_hash(k, {{"user_id", std::to_string(uid)}, {"email", email}});
    R("EXPIRE", k, "259200");
}

void test_verify_email(void **)
{
    Hash alice = put_user(7, "alice", "alice@example.com");
    R("HSET", K.user(7), "email_verified", "0");
    put_verify("k1", 7, "alice@example.com");
    EXPECT_INT(verify("k1"), 7);
    EXPECT_HASH(K.user(7), alice);  // email_verified is 1 again
    EXPECT_GONE(K.verify_key(restauth::sha256_hex("k1")));
    // Single use.
    std::string before = snapshot();
    EXPECT_INT(verify("k1"), 0);
    EXPECT_UNCHANGED(before);
}

void test_verify_email_address_changed_or_user_gone(void **)
{
    put_user(7, "alice", "new@example.com");
    R("HSET", K.user(7), "email_verified", "0");
    put_verify("k1", 7, "old@example.com");
    put_verify("k2", 9, "ghost@example.com");
    EXPECT_INT(verify("k1"), -1);
    assert_string_equal(hgetall(K.user(7))["email_verified"].c_str(), "0");
    EXPECT_GONE(K.verify_key(restauth::sha256_hex("k1")));  // used up anyway
    EXPECT_INT(verify("k2"), -1);
    EXPECT_GONE(K.verify_key(restauth::sha256_hex("k2")));
    EXPECT_GONE(K.user(9));  // no hash conjured up for a deleted user
}

// ============================================================================
// request_reset (KEYS by_email; ARGV prefix, folded email, digest, ttl,
// stream, its MAXLEN, n, body parts, mail fields)
// ============================================================================

RedisValue request_reset(const std::string &email, const std::string &token,
                         const std::vector<std::string> &parts = {"uid: ", "\ntoken: T\n"})
{
    std::vector<std::string> args{kPrefix, restauth::fold_case(email), restauth::sha256_hex(token), "86400", kStream,
                                  g_maxlen, std::to_string(parts.size())};
    args.insert(args.end(), parts.begin(), parts.end());
    for (const char *f : {"subject", "Password reset", "kind", "password_reset", "token"}) args.emplace_back(f);
    args.push_back(token);
    return EVAL(restauth::lua::request_reset, {K.by_email()}, args);
}

void test_request_reset(void **)
{
    put_user(7, "alice", "Alice@example.com");
    EXPECT_INT(request_reset("alice@EXAMPLE.com", "tok1", {"a ", " b ", " c"}), 7);
    std::string rkey = K.reset_token(restauth::sha256_hex("tok1"));
    EXPECT_HASH(rkey, {{"user_id", "7"}, {"pwfp", restauth::sha256_hex(kHash)}});
    EXPECT_TTL(rkey, 86000, 86400);
    auto mail = xrange(kStream);
    assert_int_equal(mail.size(), 1);
    std::string uid = restauth::base64url_encode("7");
    EXPECT_FIELDS(mail[0].fields, {{"to", "Alice@example.com"},
                                   {"body", "a " + uid + " b " + uid + " c"},
                                   {"uid", uid},
                                   {"subject", "Password reset"},
                                   {"kind", "password_reset"},
                                   {"token", "tok1"}});
}

// The script's own SHA-256 and base64url (Lua 5.1 with "bit") against the
// core's OpenSSL and encoder, over padding boundaries and non-ASCII bytes.
void test_request_reset_digest_and_uid_encoding(void **)
{
    std::vector<std::string> hashes;
    for (size_t len : {1, 3, 54, 55, 56, 57, 63, 64, 65, 88, 119, 120, 200}) {
        std::string h;
        for (size_t i = 0; i < len; i++) h.push_back(char('a' + (i * 7 + len) % 26));
        hashes.push_back(h);
    }
    hashes.push_back(std::string("pbkdf2_sha256$1$s$\xff\x80\x01\x7f", 22));
    hashes.push_back(kHash);
    int64_t ids[] = {1, 42, 123, 1234, 99999, 1234567890123};
    size_t n = 0;
    for (const auto &h : hashes) {
        R("FLUSHALL");
        int64_t id = ids[n++ % (sizeof(ids) / sizeof(ids[0]))];
        put_user(id, "u", "u@example.com", h);
        std::string token = "tok" + std::to_string(n);
        EXPECT_INT(request_reset("u@example.com", token, {"[", "]"}), id);
        Hash rec = hgetall(K.reset_token(restauth::sha256_hex(token)));
        if (rec["pwfp"] != restauth::sha256_hex(h)) {
            fail_msg("pwfp of a %zu-byte hash: Lua %s, OpenSSL %s", h.size(), rec["pwfp"].c_str(),
                     restauth::sha256_hex(h).c_str());
        }
        std::string uid = restauth::base64url_encode(std::to_string(id));
        auto mail = xrange(kStream);
        assert_int_equal(mail.size(), 1);
        assert_string_equal(mail[0].fields.at(1).second.c_str(), ("[" + uid + "]").c_str());
        assert_string_equal(mail[0].fields.at(2).second.c_str(), uid.c_str());
    }
}

void test_request_reset_refusals(void **)
{
    put_user(1, "inactive", "inactive@example.com");
    R("HSET", K.user(1), "is_active", "0");
    put_user(2, "unusable", "unusable@example.com", "!abcdefghijklmnopqrstuvwxyz0123456789ABCD");
    put_user(3, "nopassword", "nopassword@example.com", "");
    put_user(4, "noaddress", "noaddress@example.com");
    R("HSET", K.user(4), "email", "");
    R("HSET", K.by_email(), "gone@example.com", "9");
    std::string before = snapshot();
    for (const char *email : {"inactive@example.com", "unusable@example.com", "nopassword@example.com",
                              "noaddress@example.com", "gone@example.com", "nobody@example.com"}) {
        EXPECT_INT(request_reset(email, "tok"), 0);
    }
    EXPECT_UNCHANGED(before);  // no token, no mail
}

// ============================================================================
// The mail stream stays bounded: every script that queues mail trims it
// with XADD MAXLEN ~ (whole stream nodes, so up to one node above the
// limit), dropping the oldest entries and the secrets in them.
// ============================================================================

// n old entries, each with a secret, as a consumer that never deletes
// would leave them.
void seed_mail(int n)
{
    for (int i = 0; i < n; i++) R("XADD", kStream, "*", "kind", "password_reset", "token", "old-" + std::to_string(i));
}

void expect_trimmed(int seeded, size_t maxlen, const std::string &newest_field, const std::string &newest_value)
{
    RedisValue conf = R("CONFIG", "GET", "stream-node-max-entries");
    size_t node = std::strtoul(conf.elements.at(1).str.c_str(), nullptr, 10);
    auto mail = xrange(kStream);
    if (mail.size() < maxlen || mail.size() > maxlen + node) {
        fail_msg("%zu entries after %d seeded and MAXLEN ~ %zu (node size %zu)", mail.size(), seeded, maxlen, node);
    }
    // The oldest went first; the new mail is the last entry.
    for (const auto &[k, v] : mail.front().fields) {
        if (k == "token" && v == "old-0") fail_msg("the oldest entry was kept");
    }
    bool found = false;
    for (const auto &[k, v] : mail.back().fields) found = found || (k == newest_field && v == newest_value);
    assert_true(found);
}

void test_mail_stream_bounded(void **)
{
    MaxlenGuard guard("10");
    constexpr int kSeeded = 1000;

    seed_mail(kSeeded);
    EXPECT_INT(register_user({"alice", "alice@example.com", "reg-key"}), 1);
    expect_trimmed(kSeeded, 10, "key", "reg-key");

    R("DEL", kStream);
    seed_mail(kSeeded);
    R("HSET", K.user(1), "email_verified", "0");
    EXPECT_INT(resend("alice@example.com", "resend-key"), 1);
    expect_trimmed(kSeeded, 10, "key", "resend-key");

    R("DEL", kStream);
    seed_mail(kSeeded);
    EXPECT_INT(request_reset("alice@example.com", "reset-token"), 1);
    expect_trimmed(kSeeded, 10, "token", "reset-token");
}

// The limit is the caller's: the default (10000) keeps a backlog whole.
void test_mail_stream_keeps_backlog_under_limit(void **)
{
    seed_mail(500);
    EXPECT_INT(register_user({"alice", "alice@example.com", "reg-key"}), 1);
    assert_int_equal(xrange(kStream).size(), 501);
}

// ============================================================================
// reset_password (KEYS record, user, user's sessions, user's opaque keys;
// ARGV id, hash the token was checked against, its pwfp, new hash, prefix,
// revoke)
// ============================================================================

std::vector<std::string> reset_keys(int64_t id, const std::string &token)
{
    return {K.reset_token(restauth::sha256_hex(token)), K.user(id), K.user_sessions(id), K.user_tokens(id)};
}

RedisValue reset_password(int64_t id, const std::string &token, const std::string &read_hash,
                          const std::string &pwfp, bool revoke)
{
    return EVAL(restauth::lua::reset_password, reset_keys(id, token),
                {std::to_string(id), read_hash, pwfp, kNewHash, kPrefix, revoke ? "1" : "0"});
}

void put_reset(const std::string &token, int64_t uid, const std::string &password_hash)
{
    std::string k = K.reset_token(restauth::sha256_hex(token));
    put_hash(k, {{"user_id", std::to_string(uid)}, {"pwfp", restauth::sha256_hex(password_hash)}});
    R("EXPIRE", k, "86400");
}

void test_reset_password(void **)
{
    Hash alice = put_user(7, "alice", "alice@example.com");
    put_user(8, "bob", "bob@example.com");
    put_session(7, "s1", "j1");
    put_session(7, "s2", "j2");
    put_session(8, "b1", "jb");
    put_opaque(7, "d1");
    put_opaque(7, "d2");
    put_opaque(8, "db");
    put_reset("tok", 7, kHash);
    EXPECT_INT(reset_password(7, "tok", kHash, restauth::sha256_hex(kHash), true), 1);
    alice["password"] = kNewHash;
    EXPECT_HASH(K.user(7), alice);
    EXPECT_GONE(K.reset_token(restauth::sha256_hex("tok")));
    EXPECT_GONE(K.session("s1"));
    EXPECT_GONE(K.session("s2"));
    EXPECT_GONE(K.user_sessions(7));
    // Opaque-mode keys go with the sessions, as on a password change.
    EXPECT_GONE(K.opaque_token("d1"));
    EXPECT_GONE(K.opaque_token("d2"));
    EXPECT_GONE(K.user_tokens(7));
    EXPECT_HASH(K.session("b1"), session_hash(8, "jb"));
    EXPECT_MEMBERS(K.user_tokens(8), {"db"});
    assert_true(exists(K.opaque_token("db")));
    // Single use.
    std::string before = snapshot();
    EXPECT_INT(reset_password(7, "tok", kNewHash, restauth::sha256_hex(kNewHash), true), -1);
    EXPECT_UNCHANGED(before);
}

void test_reset_password_without_revoking(void **)
{
    put_user(7, "alice", "alice@example.com");
    put_session(7, "s1", "j1");
    put_opaque(7, "d1");
    put_reset("tok", 7, kHash);
    EXPECT_INT(reset_password(7, "tok", kHash, restauth::sha256_hex(kHash), false), 1);
    assert_string_equal(hgetall(K.user(7))["password"].c_str(), kNewHash.c_str());
    EXPECT_HASH(K.session("s1"), session_hash(7, "j1"));
    EXPECT_MEMBERS(K.user_sessions(7), {"s1"});
    EXPECT_MEMBERS(K.user_tokens(7), {"d1"});
}

void test_reset_password_refusals(void **)
{
    put_user(7, "alice", "alice@example.com");
    put_user(8, "bob", "bob@example.com");
    put_session(7, "s1", "j1");
    put_opaque(7, "d1");
    put_reset("tok", 7, kHash);
    put_reset("bobs", 8, kHash);
    std::string pwfp = restauth::sha256_hex(kHash);
    std::string before = snapshot();
    // Another user's token.
    EXPECT_INT(reset_password(7, "bobs", kHash, pwfp, true), -1);
    // A fingerprint that is not the record's.
    EXPECT_INT(reset_password(7, "tok", kHash, restauth::sha256_hex(kUpgraded), true), -1);
    // An unknown (expired) token.
    EXPECT_INT(reset_password(7, "nope", kHash, pwfp, true), -1);
    EXPECT_UNCHANGED(before);
    // The password changed after the endpoint checked the token.
    R("HSET", K.user(7), "password", kUpgraded);
    before = snapshot();
    EXPECT_INT(reset_password(7, "tok", kHash, pwfp, true), -1);
    EXPECT_UNCHANGED(before);
}

// Two confirmations of one token, both checked by the endpoint first: one
// sets its password, the other is refused and changes nothing.
void test_reset_password_race(void **)
{
    put_user(7, "alice", "alice@example.com");
    put_reset("tok", 7, kHash);
    std::string pwfp = restauth::sha256_hex(kHash);
    EXPECT_INT(reset_password(7, "tok", kHash, pwfp, true), 1);
    std::string before = snapshot();
    RedisValue second = run_ok(eval(restauth::lua::reset_password, reset_keys(7, "tok"),
                                    {"7", kHash, pwfp, kUpgraded, kPrefix, "1"}),
                               __FILE__, __LINE__);
    EXPECT_INT(second, -1);
    EXPECT_UNCHANGED(before);
    assert_string_equal(hgetall(K.user(7))["password"].c_str(), kNewHash.c_str());
}

}  // namespace

int main()
{
    std::signal(SIGPIPE, SIG_IGN);
    if (!start_server()) return 1;
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup(name, flush)
        T(test_find_user_by_username_or_email),
        T(test_find_user_address_as_username_two_candidates),
        T(test_find_user_dangling_index_is_empty),
        T(test_find_user_other_prefix),
        T(test_create_user_writes_user_and_indexes),
        T(test_create_user_refuses_taken_names),
        T(test_create_user_replaces_dangling_index_entries),
        T(test_create_user_skips_ids_in_use),
        T(test_update_profile_renames),
        T(test_update_profile_fields_only),
        T(test_update_profile_case_change_keeps_index),
        T(test_update_profile_username_taken),
        T(test_update_profile_user_gone),
        T(test_update_profile_stale_name_refused),
        T(test_update_profile_rename_race_stale_names),
        T(test_update_profile_rename_race_concurrent),
        T(test_set_password_revokes_all_but_kept_session),
        T(test_set_password_keeps_current_opaque_key),
        T(test_set_password_without_revoking),
        T(test_set_password_refusals),
        T(test_start_session),
        T(test_start_session_upgrades_hash),
        T(test_start_session_no_upgrade_over_a_new_password),
        T(test_start_session_user_gone),
        T(test_start_opaque),
        T(test_start_opaque_refusals),
        T(test_rotate_session),
        T(test_rotate_session_keeps_session_set_alive),
        T(test_rotate_session_unknown),
        T(test_rotate_session_reuse_revokes),
        T(test_rotate_session_user_gone_or_inactive),
        T(test_rotate_session_concurrent_same_token),
        T(test_end_session),
        T(test_end_session_stale_jti_revokes),
        T(test_end_all_sessions),
        T(test_end_all_sessions_revokes_opaque_keys),
        T(test_list_sessions),
        T(test_list_sessions_empty),
        T(test_start_session_evicts_the_oldest_beyond_the_cap),
        T(test_start_session_never_evicts_the_new_session),
        T(test_start_session_shrinks_an_index_over_the_cap_in_steps),
        T(test_start_session_sorts_a_legacy_set_in_steps),
        T(test_start_opaque_evicts_the_oldest_key),
        T(test_list_sessions_reads_at_most_the_cap),
        T(test_list_sessions_sorts_a_legacy_set),
        T(test_end_all_sessions_in_steps),
        T(test_end_all_sessions_legacy_sets),
        T(test_set_password_reports_more_to_revoke),
        T(test_end_session_and_rotate_on_a_legacy_set),
        T(test_delete_own_session),
        T(test_delete_own_session_refusals),
        T(test_rate_limit_counts_to_the_boundary),
        T(test_rate_limit_check_without_counting),
        T(test_rate_limit_window_expiry),
        T(test_rate_limit_off_sends_nothing),
        T(test_rate_limit_concurrent),
        T(test_login_attempt_counts_before_the_hash),
        T(test_login_attempt_release),
        T(test_login_attempt_release_keeps_later_windows),
        T(test_login_attempt_limits_off),
        T(test_login_attempt_concurrent),
        T(test_register_with_verification),
        T(test_register_without_verification),
        T(test_register_refuses_taken_names),
        T(test_register_skips_ids_in_use),
        T(test_register_race_same_username),
        T(test_register_concurrent),
        T(test_resend_verification),
        T(test_resend_verification_refusals),
        T(test_verify_email),
        T(test_verify_email_address_changed_or_user_gone),
        T(test_request_reset),
        T(test_request_reset_digest_and_uid_encoding),
        T(test_request_reset_refusals),
        T(test_mail_stream_bounded),
        T(test_mail_stream_keeps_backlog_under_limit),
        T(test_reset_password),
        T(test_reset_password_without_revoking),
        T(test_reset_password_refusals),
        T(test_reset_password_race),
#undef T
    };
    int failed = cmocka_run_group_tests_name("lua scripts (redis-server)", tests, nullptr, nullptr);
    stop_server();
    std::string rm = "rm -rf '" + g_dir + "'";
    if (std::system(rm.c_str()) != 0) std::fprintf(stderr, "could not remove %s\n", g_dir.c_str());
    return failed == 0 ? 0 : 1;
}
