#!/usr/bin/python3
"""Tests of scripts/restauth-user and scripts/restauth-mailer.

Run: /usr/bin/python3 tests/scripts/test_scripts.py [-v] [unittest names...]
Needs Debian's redis-server, python3-redis and python3-aiosmtpd.  Starts its
own redis-server (port $RESTAUTH_TEST_REDIS_PORT, else a free one in
19060-19069) and an SMTP sink on 127.0.0.1 (a free port in 19070-19078).
Ends with the line "N passed, M failed".
"""

import base64
import email
import email.policy
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import redis

try:
    from aiosmtpd.controller import Controller
except ImportError:
    sys.exit("test_scripts.py needs python3-aiosmtpd (apt-get install python3-aiosmtpd)")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
USER_TOOL = os.path.join(ROOT, "scripts", "restauth-user")
MAILER = os.path.join(ROOT, "scripts", "restauth-mailer")
FIXTURE = os.path.join(ROOT, "tests", "fixtures", "django_users.json")
P = "restauth:"

# Plaintexts of the hashes in tests/fixtures/django_users.json (pbkdf2_sha256,
# 260000 iterations, made with hashlib exactly as Django's PBKDF2PasswordHasher).
FIXTURE_PASSWORDS = {"admin": "correct horse battery", "Carol.Smith": "s3cret-Carol!",
                     "eve": "eve-password-1"}
# Django's own known-answer vector: make_password("lètmein", "seasalt") at 260000.
DJANGO_VECTOR = ("lètmein",
                 "pbkdf2_sha256$260000$seasalt$YlZ2Vggtqdc61YjArZuoApoBh9JNGYoDRBUGu6tcJQo=")

REDIS_PORT = None
REDIS_SOCK = None
SMTP_PORT = None
SINK = None


def free_port(ports):
    for port in ports:
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise RuntimeError("no free port in %s" % ports)


def check_password(raw, encoded):
    """Django's PBKDF2PasswordHasher.verify."""
    algo, iterations, salt, b64 = encoded.split("$")
    assert algo == "pbkdf2_sha256"
    dk = hashlib.pbkdf2_hmac("sha256", raw.encode(), salt.encode(), int(iterations))
    return base64.b64encode(dk).decode() == b64


class SinkHandler:
    """aiosmtpd handler that records messages or refuses them with 550."""

    def __init__(self):
        self.reset()

    def reset(self):
        self.messages = []
        self.refuse_rcpt = self.refuse_data = False

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse_rcpt:
            return "550 5.1.1 <%s>: mailbox unavailable" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.refuse_data:
            return "550 5.7.1 message refused"
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos),
                              email.message_from_bytes(envelope.content,
                                                       policy=email.policy.default)))
        return "250 OK"


def run(cmd, *args, input=None, env=None):
    e = {k: v for k, v in os.environ.items() if not k.startswith("RESTAUTH_")}
    e.update(env or {})
    return subprocess.run([cmd] + list(args), input=input, capture_output=True, text=True,
                          timeout=120, env=e, stdin=None if input is not None
                          else subprocess.DEVNULL)


def user_tool(*args, input=None, redis_addr=None):
    return run(USER_TOOL, "--redis", redis_addr or "127.0.0.1:%d" % REDIS_PORT, *args,
               input=input)


class Base(unittest.TestCase):
    def setUp(self):
        self.r = redis.Redis(port=REDIS_PORT, decode_responses=True)
        self.r.flushall()
        SINK.reset()

    def create(self, username, email, password="pw-for-tests", *extra):
        res = user_tool("create", username, "--email", email, "--password-stdin",
                        "--iterations", "1000", *extra, input=password + "\n")
        self.assertEqual(res.returncode, 0, res.stderr)
        return int(res.stdout.split()[-1])

    def show(self, ref, *extra):
        res = user_tool("show", ref, *extra)
        self.assertEqual(res.returncode, 0, res.stderr)
        return json.loads(res.stdout)

    def add_sessions(self, uid, *sids):
        for sid in sids:
            self.r.hset(P + "session:" + sid, mapping={"user_id": uid, "jti": "j" + sid})
            self.r.sadd(P + "user:%d:sessions" % uid, sid)

    def add_many_sessions(self, uid, n, legacy=False):
        """n sessions, in the module's sorted index (or an older version's
        plain set): more than one run of the revoking scripts deletes."""
        pipe = self.r.pipeline(transaction=False)
        for i in range(n):
            sid = "m%d-%d" % (uid, i)
            pipe.hset(P + "session:" + sid, mapping={"user_id": uid, "jti": "j", "created": 1700000000 + i})
            if legacy:
                pipe.sadd(P + "user:%d:sessions" % uid, sid)
            else:
                pipe.zadd(P + "user:%d:sessions" % uid, {sid: 1700000000 + i})
        pipe.execute()

    def sessions_left(self, uid, n):
        return sum(self.r.exists(P + "session:m%d-%d" % (uid, i)) for i in range(n))

    def add_opaque_keys(self, uid, *digests):
        for digest in digests:
            self.r.hset(P + "token:" + digest, mapping={"user_id": uid, "created": "1700000000"})
            self.r.sadd(P + "user:%d:tokens" % uid, digest)


class UserToolTests(Base):
    def test_known_answer_vector(self):
        self.assertTrue(check_password(*DJANGO_VECTOR))

    def test_create_and_show(self):
        uid = self.create("alice", "Alice@Example.COM", "s3cret-pw", "--first-name", "Al",
                          "--last-name", "Ice")
        self.assertEqual(uid, 1)
        rec = self.r.hgetall(P + "user:1")
        self.assertEqual(rec["username"], "alice")
        self.assertEqual(rec["email"], "Alice@example.com")   # domain lower-cased
        self.assertTrue(check_password("s3cret-pw", rec["password"]))
        self.assertRegex(rec["password"], r"^pbkdf2_sha256\$1000\$[A-Za-z0-9]{22}\$")
        self.assertEqual((rec["is_active"], rec["is_staff"], rec["is_superuser"],
                          rec["email_verified"], rec["last_login"]), ("1", "0", "0", "1", ""))
        self.assertRegex(rec["date_joined"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertEqual(self.r.hget(P + "users:by_username", "alice"), "1")
        self.assertEqual(self.r.hget(P + "users:by_email", "alice@example.com"), "1")
        self.assertEqual(self.r.get(P + "users:next_id"), "1")
        for ref in ("alice", "ALICE", "alice@EXAMPLE.com", "id:1"):
            shown = self.show(ref)
            self.assertEqual(shown["id"], 1)
            self.assertEqual(shown["first_name"], "Al")
            self.assertNotIn("password", shown)
            self.assertIs(shown["has_usable_password"], True)
            self.assertIs(shown["is_active"], True)

    def test_create_flags(self):
        self.create("root", "root@example.com", "pw", "--staff", "--superuser",
                    "--inactive", "--unverified")
        rec = self.r.hgetall(P + "user:1")
        self.assertEqual((rec["is_active"], rec["is_staff"], rec["is_superuser"],
                          rec["email_verified"]), ("0", "1", "1", "0"))

    def test_default_iterations(self):
        res = user_tool("create", "bob", "--email", "bob@example.com", "--password", "pw12345")
        self.assertEqual(res.returncode, 0, res.stderr)
        pw = self.r.hget(P + "user:1", "password")
        self.assertTrue(pw.startswith("pbkdf2_sha256$600000$"))
        self.assertTrue(check_password("pw12345", pw))

    def test_no_password_is_unusable(self):
        res = user_tool("create", "svc", "--email", "", "--no-password")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertTrue(self.r.hget(P + "user:1", "password").startswith("!"))
        self.assertIs(self.show("svc")["has_usable_password"], False)
        self.assertEqual(self.r.hlen(P + "users:by_email"), 0)   # empty email not indexed

    def test_conflicts_are_case_insensitive_and_write_nothing(self):
        self.create("alice", "alice@example.com")
        before = {k: self.r.dump(k) for k in self.r.keys("*")}
        for username, mail, what in (("ALICE", "other@example.com", "username"),
                                     ("other", "ALICE@example.COM", "e-mail")):
            res = user_tool("create", username, "--email", mail, "--password", "x")
            self.assertEqual(res.returncode, 1)
            self.assertIn("already exists", res.stderr)
            self.assertIn(what, res.stderr)
        self.assertEqual({k: self.r.dump(k) for k in self.r.keys("*")}, before)

    def test_bad_input_exits_2(self):
        cases = [
            ("create", "bad name", "--email", "a@example.com", "--password", "x"),
            ("create", "x" * 151, "--email", "a@example.com", "--password", "x"),
            ("create", "", "--email", "a@example.com", "--password", "x"),
            ("create", "ok", "--email", "not-an-email", "--password", "x"),
            ("create", "ok", "--email", "a@b", "--password", "x"),
            ("create", "ok", "--email", "a@@example.com", "--password", "x"),
            ("create", "ok", "--email", "a@example.com", "--password", ""),
            ("create", "ok", "--email", "a@example.com"),        # no password, no tty
            ("create", "ok", "--password", "x"),                 # --email missing
            ("create", "ok", "--email", "a@example.com", "--password", "x",
             "--iterations", "0"),
            ("frobnicate",),
            ("show",),
            ("import-django", "/nonexistent.json"),
        ]
        for args in cases:
            res = user_tool(*args)
            self.assertEqual(res.returncode, 2, "%r: %s" % (args, res.stderr))
            self.assertTrue(res.stderr.strip())
        self.assertEqual(self.r.dbsize(), 0)
        res = user_tool("show", "x", redis_addr="nohost:notaport")
        self.assertEqual(res.returncode, 2)

    def test_max_length_username_and_allowed_characters(self):
        self.create("a" * 150, "long@example.com")
        self.create("w.x@y+z-_", "chars@example.com")
        self.create("jürgen", "j@example.com")   # letters beyond ASCII, as Django

    def test_not_found_exits_1(self):
        self.create("alice", "alice@example.com")
        for args in (("show", "bob"), ("activate", "bob"), ("deactivate", "id:9"),
                     ("delete", "nobody@example.com"),
                     ("set-password", "bob", "--password", "x")):
            res = user_tool(*args)
            self.assertEqual(res.returncode, 1, args)
            self.assertIn("no such user", res.stderr)

    def test_password_and_hash_never_printed(self):
        secret = "Tr0ub4dor&3-unique"
        outputs = [user_tool("create", "alice", "--email", "alice@example.com",
                             "--password", secret, "--iterations", "1000")]
        outputs.append(user_tool("set-password", "alice", "--password-stdin",
                                 "--iterations", "1000", input=secret + "2\n"))
        pw_hash = self.r.hget(P + "user:1", "password")
        outputs += [user_tool("show", "alice"), user_tool("deactivate", "alice"),
                    user_tool("activate", "alice"), user_tool("delete", "alice")]
        for res in outputs:
            self.assertEqual(res.returncode, 0, res.stderr)
            text = res.stdout + res.stderr
            self.assertNotIn(secret, text)
            self.assertNotIn(pw_hash.split("$")[2], text)     # salt
            self.assertNotIn(pw_hash.split("$")[3], text)     # digest

    def test_show_hash_when_asked(self):
        self.create("alice", "alice@example.com", "pw-1")
        shown = self.show("alice", "--show-hash")
        self.assertEqual(shown["password"], self.r.hget(P + "user:1", "password"))
        self.assertTrue(check_password("pw-1", shown["password"]))

    def test_deactivate_revokes_sessions_and_activate(self):
        uid = self.create("alice", "alice@example.com")
        other = self.create("bob", "bob@example.com")
        self.add_sessions(uid, "s1", "s2")
        self.add_sessions(other, "s3")
        res = user_tool("deactivate", "alice")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(self.r.hget(P + "user:1", "is_active"), "0")
        self.assertEqual(self.r.exists(P + "session:s1", P + "session:s2",
                                       P + "user:1:sessions"), 0)
        self.assertEqual(self.r.exists(P + "session:s3", P + "user:2:sessions"), 2)
        self.assertEqual(user_tool("activate", "ALICE").returncode, 0)
        self.assertEqual(self.r.hget(P + "user:1", "is_active"), "1")

    def test_deactivate_revokes_opaque_keys(self):
        # Every path that revokes sessions revokes opaque-mode keys too: a
        # reactivated user's old keys must not come back to life.
        uid = self.create("alice", "alice@example.com")
        other = self.create("bob", "bob@example.com")
        self.add_sessions(uid, "s1")
        self.add_opaque_keys(uid, "d1", "d2")
        self.add_opaque_keys(other, "d3")
        res = user_tool("deactivate", "alice")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(self.r.exists(P + "token:d1", P + "token:d2", P + "user:1:tokens",
                                       P + "session:s1", P + "user:1:sessions"), 0)
        self.assertEqual(self.r.exists(P + "token:d3", P + "user:2:tokens"), 2)

    def test_set_password_revokes_sessions(self):
        uid = self.create("alice", "alice@example.com", "old-pw")
        self.add_sessions(uid, "s1")
        res = user_tool("set-password", "alice@example.com", "--password-stdin",
                        "--iterations", "1000", input="new-pw\n")
        self.assertEqual(res.returncode, 0, res.stderr)
        pw = self.r.hget(P + "user:1", "password")
        self.assertTrue(check_password("new-pw", pw))
        self.assertFalse(check_password("old-pw", pw))
        self.assertEqual(self.r.exists(P + "session:s1", P + "user:1:sessions"), 0)

    def test_revocation_past_one_step(self):
        # The scripts revoke a bounded step per run (1000 records); the CLI
        # runs them until nothing is left, as the module does.
        uid = self.create("alice", "alice@example.com", "old-pw")
        bob = self.create("bob", "bob@example.com")
        carol = self.create("carol", "carol@example.com")
        self.add_many_sessions(uid, 2500)
        self.add_many_sessions(bob, 1500, legacy=True)
        self.add_many_sessions(carol, 1200)
        self.assertEqual(self.show("alice")["sessions"], 2500)
        self.assertEqual(self.show("bob")["sessions"], 1500)
        res = user_tool("set-password", "alice", "--password", "new-pw", "--iterations", "1000")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(self.sessions_left(uid, 2500), 0)
        self.assertEqual(self.r.exists(P + "user:1:sessions"), 0)
        res = user_tool("deactivate", "bob")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(self.sessions_left(bob, 1500), 0)
        self.assertEqual(self.r.exists(P + "user:2:sessions", P + "user:2:sessions:unsorted"), 0)
        res = user_tool("delete", "carol")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(self.sessions_left(carol, 1200), 0)
        self.assertEqual(self.r.exists(P + "user:3:sessions"), 0)

    def test_set_password_revokes_opaque_keys(self):
        # The module's set_password script: opaque-mode keys go too, as on a
        # password change through the API.
        uid = self.create("alice", "alice@example.com", "old-pw")
        other = self.create("bob", "bob@example.com")
        for u, digest in ((uid, "d1"), (uid, "d2"), (other, "d3")):
            self.r.hset(P + "token:" + digest, mapping={"user_id": u, "created": "1700000000"})
            self.r.sadd(P + "user:%d:tokens" % u, digest)
        res = user_tool("set-password", "alice", "--password", "new-pw", "--iterations", "1000")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(self.r.exists(P + "token:d1", P + "token:d2", P + "user:1:tokens"), 0)
        self.assertEqual(self.r.exists(P + "token:d3", P + "user:2:tokens"), 2)

    def test_create_replaces_dangling_index_entries(self):
        # Index entries of a user whose hash was deleted by hand do not block.
        self.r.hset(P + "users:by_username", "alice", "9")
        self.r.hset(P + "users:by_email", "alice@example.com", "9")
        self.assertEqual(self.create("alice", "alice@example.com"), 1)
        self.assertEqual(self.r.hgetall(P + "users:by_username"), {"alice": "1"})
        self.assertEqual(self.r.hgetall(P + "users:by_email"), {"alice@example.com": "1"})

    def test_runs_the_module_lua_files(self):
        # The scripts come from src/core/lua (found through the script's real
        # path, so a symlink elsewhere works), or from --lua-dir.
        lua_dir = os.path.join(ROOT, "src", "core", "lua")
        with tempfile.TemporaryDirectory() as tmp:
            link = os.path.join(tmp, "restauth-user")
            os.symlink(USER_TOOL, link)
            res = run(link, "--redis", "127.0.0.1:%d" % REDIS_PORT, "create", "alice", "--email",
                      "alice@example.com", "--password", "pw", "--iterations", "1000")
            self.assertEqual(res.returncode, 0, res.stderr)
            # A copy whose set_password.lua is changed: the tool runs that file.
            copy = os.path.join(tmp, "lua")
            shutil.copytree(lua_dir, copy)
            with open(os.path.join(copy, "set_password.lua"), "w") as f:
                f.write("redis.call('HSET', KEYS[1], 'marker', ARGV[3]:sub(1, 13)) return 1\n")
            res = user_tool("set-password", "alice", "--password", "x", "--iterations", "1000",
                            "--lua-dir", copy)
            self.assertEqual(res.returncode, 0, res.stderr)
            self.assertEqual(self.r.hget(P + "user:1", "marker"), "pbkdf2_sha256")
            # No scripts there: a usage error, and nothing written.
            before = {k: self.r.dump(k) for k in self.r.keys("*")}
            for args in (("--lua-dir", tmp, "set-password", "alice", "--password", "x"),
                         ("create", "bob", "--email", "", "--password", "x", "--lua-dir", tmp)):
                res = user_tool(*args)
                self.assertEqual(res.returncode, 2, res.stderr)
                self.assertIn("cannot read Lua script " + os.path.join(tmp, ""), res.stderr)
            self.assertEqual({k: self.r.dump(k) for k in self.r.keys("*")}, before)

    def test_delete_removes_everything(self):
        uid = self.create("alice", "alice@example.com")
        self.create("bob", "bob@example.com")
        self.add_sessions(uid, "s1")
        self.add_opaque_keys(uid, "d1")
        res = user_tool("delete", "Alice")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(sorted(self.r.keys("*")),
                         sorted([P + "user:2", P + "users:by_username", P + "users:by_email",
                                 P + "users:next_id"]))
        self.assertEqual(self.r.hgetall(P + "users:by_username"), {"bob": "2"})
        self.assertEqual(self.r.hgetall(P + "users:by_email"), {"bob@example.com": "2"})
        self.assertEqual(self.create("alice", "alice@example.com"), 3)  # name free again

    def test_prefix_db_and_options_after_subcommand(self):
        res = user_tool("--db", "2", "create", "alice", "--email", "a@example.com",
                        "--password", "x", "--iterations", "1000", "--prefix", "other:")
        self.assertEqual(res.returncode, 0, res.stderr)
        r2 = redis.Redis(port=REDIS_PORT, db=2, decode_responses=True)
        self.assertEqual(r2.hget("other:user:1", "username"), "alice")
        self.assertEqual(self.r.dbsize(), 0)
        self.assertEqual(user_tool("--prefix", "other:", "--db", "2", "show", "alice")
                         .returncode, 0)
        self.assertEqual(user_tool("--db", "2", "show", "alice").returncode, 1)

    def test_unix_socket_and_env(self):
        self.create("alice", "alice@example.com")
        res = user_tool("show", "alice", redis_addr="unix:" + REDIS_SOCK)
        self.assertEqual(res.returncode, 0, res.stderr)
        res = run(USER_TOOL, "show", "alice", env={"RESTAUTH_REDIS": "127.0.0.1:%d" % REDIS_PORT})
        self.assertEqual(res.returncode, 0, res.stderr)

    def test_redis_password_file(self):
        self.create("alice", "alice@example.com")
        with tempfile.NamedTemporaryFile("w", suffix=".pw") as f:
            f.write("redis-pass\n")
            f.flush()
            self.r.config_set("requirepass", "redis-pass")
            try:
                self.assertEqual(user_tool("show", "alice").returncode, 3)
                res = user_tool("--redis-password-file", f.name, "show", "alice")
                self.assertEqual(res.returncode, 0, res.stderr)
            finally:
                redis.Redis(port=REDIS_PORT, password="redis-pass").config_set(
                    "requirepass", "")

    def test_redis_unreachable_exits_3(self):
        res = user_tool("show", "alice", redis_addr="127.0.0.1:1")
        self.assertEqual(res.returncode, 3)
        self.assertIn("Redis", res.stderr)


class ImportTests(Base):
    def import_fixture(self, *extra):
        return user_tool("import-django", FIXTURE, *extra)

    def test_import_fixture(self):
        res = self.import_fixture()
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(res.stdout.strip().splitlines()[-1], "imported 4, skipped 2")
        self.assertIn("auth.group", res.stderr)                # other model: warning
        self.assertIn("pk 43", res.stderr)                     # duplicate e-mail
        self.assertIn("pbkdf2_sha256", res.stderr)             # argon2 user warning
        self.assertNotIn("$", res.stdout + res.stderr)         # no hash printed
        fixture = {e["pk"]: e["fields"] for e in json.load(open(FIXTURE))
                   if e["model"] == "auth.user"}
        for uid in (1, 5, 7, 42):
            rec = self.r.hgetall(P + "user:%d" % uid)
            self.assertEqual(rec["id"], str(uid))
            self.assertEqual(rec["password"], fixture[uid]["password"])   # unchanged
            self.assertEqual(rec["username"], fixture[uid]["username"])
            self.assertEqual(rec["email_verified"], "1")
            self.assertEqual(self.r.hget(P + "users:by_username", rec["username"].lower()),
                             str(uid))
        self.assertFalse(self.r.exists(P + "user:43"))
        for name, pw in FIXTURE_PASSWORDS.items():
            if name != "eve":
                uid = self.r.hget(P + "users:by_username", name.lower())
                self.assertTrue(check_password(pw, self.r.hget(P + "user:" + uid, "password")))
        admin = self.r.hgetall(P + "user:1")
        self.assertEqual((admin["is_superuser"], admin["is_staff"], admin["is_active"],
                          admin["first_name"], admin["last_name"], admin["email"]),
                         ("1", "1", "1", "Ada", "Admin", "admin@example.com"))
        self.assertEqual((admin["date_joined"], admin["last_login"]),
                         ("2022-01-10T09:00:00Z", "2023-04-01T08:30:15Z"))
        carol = self.r.hgetall(P + "user:5")
        self.assertEqual((carol["date_joined"], carol["last_login"], carol["is_staff"]),
                         ("2022-06-01T12:34:56Z", "", "0"))     # +02:00 -> UTC
        dave = self.r.hgetall(P + "user:42")
        self.assertEqual((dave["is_active"], dave["date_joined"], dave["last_login"]),
                         ("0", "2021-12-31T23:59:59Z", "2022-02-02T10:00:00Z"))
        self.assertEqual(self.r.hget(P + "users:by_email", "dave@example.net"), "42")
        self.assertIs(self.show("dave")["has_usable_password"], False)
        self.assertEqual(self.show("frank@home")["password_algorithm"], "argon2")
        self.assertEqual(self.r.hlen(P + "users:by_email"), 3)  # frank has no e-mail
        self.assertEqual(self.r.get(P + "users:next_id"), "42")
        self.assertEqual(self.create("newbie", "new@example.com"), 43)

    def test_import_unverified(self):
        res = self.import_fixture("--email-verified", "no")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(self.r.hget(P + "user:1", "email_verified"), "0")

    def test_reimport_skips_everything(self):
        self.assertEqual(self.import_fixture().returncode, 0)
        before = {k: self.r.dump(k) for k in self.r.keys("*")}
        res = self.import_fixture()
        self.assertEqual(res.stdout.strip(), "imported 0, skipped 6")
        self.assertIn("already taken", res.stderr)
        self.assertEqual({k: self.r.dump(k) for k in self.r.keys("*")}, before)

    def test_conflicts_skip_then_replace(self):
        # ids 1 and 2 taken; "ADMIN" clashes with the fixture's admin (pk 1)
        # only by username, "carol@EXAMPLE.org" with Carol.Smith only by e-mail.
        self.create("ADMIN", "root@example.com")
        self.create("carol2", "carol@EXAMPLE.org")
        self.add_sessions(1, "s1")
        # An opaque key of the replaced user 1 must not authenticate the
        # imported user who takes over id 1.
        self.add_opaque_keys(1, "d1")
        res = self.import_fixture()
        self.assertEqual(res.stdout.strip(), "imported 2, skipped 4")
        self.assertIn("pk 1, username 'admin'): id already taken", res.stderr)
        self.assertIn("pk 5, username 'Carol.Smith'): email already taken", res.stderr)
        self.assertEqual(self.r.hget(P + "user:1", "email"), "root@example.com")
        res = self.import_fixture("--replace")
        self.assertEqual(res.stdout.strip(), "imported 4, skipped 2", res.stderr)
        self.assertEqual(self.r.hget(P + "user:1", "email"), "admin@example.com")
        self.assertFalse(self.r.exists(P + "user:2", P + "session:s1", P + "user:1:sessions",
                                       P + "token:d1", P + "user:1:tokens"))
        self.assertEqual(self.r.hget(P + "users:by_email", "carol@example.org"), "5")
        self.assertIsNone(self.r.hget(P + "users:by_username", "carol2"))
        self.assertIsNone(self.r.hget(P + "users:by_email", "root@example.com"))
        self.assertEqual(self.r.get(P + "users:next_id"), "42")

    def test_import_bad_entries(self):
        data = [{"model": "auth.user", "fields": {"username": "nopk"}},
                {"model": "auth.user", "pk": 3, "fields": {"username": "x",
                                                           "date_joined": "garbage"}},
                {"model": "auth.user", "pk": 4, "fields": {"username": "ok", "password": "",
                                                           "date_joined": None}},
                "not an object"]
        with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
            json.dump(data, f)
            f.flush()
            res = user_tool("import-django", f.name)
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(res.stdout.strip(), "imported 1, skipped 3")
        self.assertTrue(self.r.hget(P + "user:4", "password").startswith("!"))
        with tempfile.NamedTemporaryFile("w", suffix=".json") as f:
            f.write("{not json")
            f.flush()
            self.assertEqual(user_tool("import-django", f.name).returncode, 2)


class MailerTests(Base):
    TOKEN = "tok-SECRET-4a1f"

    def mailer(self, *extra, once=True):
        args = ["--redis", "127.0.0.1:%d" % REDIS_PORT, "--smtp-host", "127.0.0.1",
                "--smtp-port", str(SMTP_PORT), "--from", "Example <noreply@example.com>",
                "--retry-delay", "0"] + (["--once"] if once else []) + list(extra)
        return run(MAILER, *args)

    def enqueue(self, to="bob@example.com", **extra):
        fields = {"to": to, "subject": "Réinitialisation du mot de passe",
                  "body": "Bonjour,\nhttps://app.example.com/reset/MQ/%s\n" % self.TOKEN,
                  "kind": "password_reset", "uid": "MQ", "token": self.TOKEN}
        fields.update(extra)
        return self.r.xadd("restauth:mail", {k: v for k, v in fields.items() if v is not None})

    def pending(self):
        return self.r.xpending("restauth:mail", "restauth-mailer")["pending"]

    def assert_log_is_safe(self, res):
        log = res.stdout + res.stderr
        self.assertNotIn(self.TOKEN, log)
        self.assertNotIn("bob@", log)

    def assert_no_secret_in_redis(self, *secrets):
        """No key, field or value anywhere in Redis holds a secret."""
        dump = []
        for key in self.r.scan_iter("*"):
            kind = self.r.type(key)
            dump.append(key)
            if kind == "stream":
                for _id, fields in self.r.xrange(key):
                    dump.extend(fields.keys())
                    dump.extend(fields.values())
            elif kind == "hash":
                dump.extend(x for kv in self.r.hgetall(key).items() for x in kv)
            elif kind == "string":
                dump.append(self.r.get(key))
        for secret in secrets:
            for item in dump:
                self.assertNotIn(secret, item)

    def test_delivers_and_acks(self):
        self.enqueue()
        self.enqueue(to="carol@example.org", kind="email_verification", uid=None, token=None,
                     key="KEY-1", subject="Confirm", body="https://app.example.com/verify/KEY-1")
        res = self.mailer()
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(len(SINK.messages), 2)
        mail_from, rcpts, msg = SINK.messages[0]
        self.assertEqual((mail_from, rcpts), ("noreply@example.com", ["bob@example.com"]))
        self.assertEqual(msg["To"], "bob@example.com")
        self.assertEqual(msg["From"], "Example <noreply@example.com>")
        self.assertEqual(msg["Subject"], "Réinitialisation du mot de passe")
        self.assertTrue(msg["Message-ID"] and msg["Date"])
        self.assertEqual(msg.get_content_type(), "text/plain")
        self.assertEqual(msg.get_content_charset(), "utf-8")
        self.assertEqual(msg.get_content().replace("\r\n", "\n"),
                         "Bonjour,\nhttps://app.example.com/reset/MQ/%s\n" % self.TOKEN)
        self.assertEqual(SINK.messages[1][1], ["carol@example.org"])
        self.assertEqual(self.pending(), 0)
        self.assert_log_is_safe(res)
        self.assertIn("kind=password_reset", res.stderr)
        self.assertEqual(self.r.xlen("restauth:mail:dead"), 0)
        # Delivered entries are deleted: no token or key stays in Redis.
        self.assertEqual(self.r.xlen("restauth:mail"), 0)
        self.assert_no_secret_in_redis(self.TOKEN, "KEY-1")

    def test_refused_recipient_stays_pending(self):
        SINK.refuse_rcpt = True
        self.enqueue()
        res = self.mailer()
        self.assertEqual(res.returncode, 1)
        self.assertEqual(SINK.messages, [])
        self.assertEqual(self.pending(), 1)
        self.assertIn("to=@example.com", res.stderr)
        self.assertIn("550", res.stderr)
        self.assert_log_is_safe(res)

    def test_refused_data_stays_pending_then_retried(self):
        SINK.refuse_data = True
        msg_id = self.enqueue()
        self.assertEqual(self.mailer().returncode, 1)
        self.assertEqual(self.pending(), 1)
        SINK.refuse_data = False
        res = self.mailer()
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(len(SINK.messages), 1)
        self.assertEqual(self.pending(), 0)
        self.assertIn(msg_id, res.stderr)

    def test_backoff_delays_retry(self):
        SINK.refuse_rcpt = True
        self.enqueue()
        self.mailer("--retry-delay", "3600")
        SINK.refuse_rcpt = False
        self.mailer("--retry-delay", "3600")     # too early: not retried
        self.assertEqual(SINK.messages, [])
        info = self.r.xpending_range("restauth:mail", "restauth-mailer", "-", "+", 10)
        self.assertEqual(info[0]["times_delivered"], 1)

    def test_dead_letter_after_max_attempts(self):
        SINK.refuse_rcpt = True
        msg_id = self.enqueue()
        for attempt in (1, 2):
            self.assertEqual(self.mailer("--max-attempts", "3").returncode, 1)
            self.assertEqual(self.pending(), 1, attempt)
            self.assertFalse(self.r.exists("restauth:mail:dead"))
            self.assertEqual(self.r.xlen("restauth:mail"), 1)   # kept for the retry
        res = self.mailer("--max-attempts", "3")
        self.assertEqual(self.pending(), 0)
        dead = self.r.xrange("restauth:mail:dead")
        self.assertEqual(len(dead), 1)
        fields = dead[0][1]
        self.assertEqual((fields["original_id"], fields["attempts"], fields["to"],
                          fields["kind"], fields["uid"], fields["redacted"]),
                         (msg_id, "3", "bob@example.com", "password_reset", "MQ", "body token"))
        # The secret (the link in the body, the token) is not copied, and the
        # entry is gone from the mail stream.
        self.assertNotIn("token", fields)
        self.assertNotIn("body", fields)
        self.assertEqual(self.r.xlen("restauth:mail"), 0)
        self.assert_no_secret_in_redis(self.TOKEN)
        self.assertIn("550", fields["error"])
        self.assertIn("restauth:mail:dead", res.stderr)
        self.assert_log_is_safe(res)

    def test_dead_letter_stream_bounded(self):
        node = int(self.r.config_get("stream-node-max-entries")["stream-node-max-entries"])
        for i in range(3 * node):
            self.enqueue(to=None, key="KEY-%d" % i)            # malformed: dead at once
        res = self.mailer("--dead-maxlen", "5")
        self.assertEqual(res.returncode, 1)
        self.assertEqual((self.pending(), self.r.xlen("restauth:mail")), (0, 0))
        dead = self.r.xrange("restauth:mail:dead")
        self.assertTrue(5 <= len(dead) <= 5 + node, len(dead))
        self.assertEqual(dead[-1][1]["redacted"], "body token key")
        self.assert_no_secret_in_redis(self.TOKEN, "KEY-")

    def test_settled_entries_of_an_older_mailer_deleted(self):
        # An older mailer acknowledged without deleting: a, b settled; c is
        # still pending (its retry not yet due), d was never read.
        ids = [self.enqueue(token="tok-%s" % n, body="link tok-%s" % n) for n in "abc"]
        self.r.xgroup_create("restauth:mail", "restauth-mailer", id="0")
        self.r.xreadgroup("restauth-mailer", "old", {"restauth:mail": ">"}, count=3)
        self.r.xack("restauth:mail", "restauth-mailer", ids[0], ids[1])
        d = self.enqueue(token="tok-d", body="link tok-d")
        res = self.mailer("--retry-delay", "3600")
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual(len(SINK.messages), 1)                 # d only
        self.assertIn("tok-d", SINK.messages[0][2].get_content())
        self.assertEqual([i for i, _ in self.r.xrange("restauth:mail")], [ids[2]])
        self.assertEqual(self.pending(), 1)
        self.assertNotIn(d, [i for i, _ in self.r.xrange("restauth:mail")])
        self.assertIn("deleted 2 settled entries", res.stderr)
        # Once c is delivered too, nothing is left.
        res = self.mailer()
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual((self.r.xlen("restauth:mail"), self.pending()), (0, 0))
        self.assert_no_secret_in_redis("tok-")

    def test_malformed_entry_dead_lettered_at_once(self):
        self.enqueue(to=None)
        self.enqueue(subject="x\r\nBcc: victim@example.com")
        res = self.mailer()
        self.assertEqual(res.returncode, 1)
        self.assertEqual(SINK.messages, [])
        self.assertEqual(self.pending(), 0)
        self.assertEqual(self.r.xlen("restauth:mail:dead"), 2)
        self.assertEqual(self.r.xlen("restauth:mail"), 0)

    def test_pending_entry_deleted_from_stream_is_dropped(self):
        SINK.refuse_rcpt = True
        msg_id = self.enqueue()
        self.mailer()
        self.r.xdel("restauth:mail", msg_id)
        SINK.refuse_rcpt = False
        res = self.mailer()
        self.assertEqual(res.returncode, 0, res.stderr)
        self.assertEqual((self.pending(), SINK.messages), (0, []))

    def test_smtp_down_stays_pending(self):
        self.enqueue()
        res = run(MAILER, "--redis", "127.0.0.1:%d" % REDIS_PORT, "--smtp-host", "127.0.0.1",
                  "--smtp-port", "1", "--from", "noreply@example.com", "--once")
        self.assertEqual(res.returncode, 1)
        self.assertEqual(self.pending(), 1)
        self.assertIn("ConnectionRefusedError", res.stderr)

    def test_daemon_delivers_and_stops_on_sigterm(self):
        args = ["--redis", "127.0.0.1:%d" % REDIS_PORT, "--smtp-host", "127.0.0.1",
                "--smtp-port", str(SMTP_PORT), "--from", "noreply@example.com", "--poll", "1"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("RESTAUTH_")}
        proc = subprocess.Popen([MAILER] + args, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=env)
        try:
            self.enqueue()
            deadline = time.time() + 10
            while not SINK.messages and time.time() < deadline:
                time.sleep(0.05)
            self.assertEqual(len(SINK.messages), 1)
            time.sleep(0.2)
            self.assertEqual(self.pending(), 0)
            proc.send_signal(signal.SIGTERM)
            _out, err = proc.communicate(timeout=10)
            self.assertEqual(proc.returncode, 0, err)
            self.assertIn("stopped", err)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def start_redis(tmpdir):
    global REDIS_PORT, REDIS_SOCK
    env_port = os.environ.get("RESTAUTH_TEST_REDIS_PORT")
    REDIS_PORT = int(env_port) if env_port else free_port(range(19060, 19070))
    REDIS_SOCK = os.path.join(tmpdir, "redis.sock")
    proc = subprocess.Popen(
        ["redis-server", "--port", str(REDIS_PORT), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", tmpdir, "--unixsocket", REDIS_SOCK,
         "--unixsocketperm", "700"],
        stdout=open(os.path.join(tmpdir, "redis.log"), "w"), stderr=subprocess.STDOUT)
    r = redis.Redis(port=REDIS_PORT)
    for _ in range(100):
        try:
            r.ping()
            return proc
        except redis.ConnectionError:
            if proc.poll() is not None:
                break
            time.sleep(0.05)
    proc.kill()
    sys.exit("redis-server did not start on port %d (see %s/redis.log)" % (REDIS_PORT, tmpdir))


def main():
    global SMTP_PORT, SINK
    tmpdir = tempfile.mkdtemp(prefix="restauth-scripts-")
    redis_proc = start_redis(tmpdir)
    SINK = SinkHandler()
    SMTP_PORT = free_port(range(19070, 19079))
    sink = Controller(SINK, hostname="127.0.0.1", port=SMTP_PORT)
    sink.start()
    try:
        verbosity = 2 if "-v" in sys.argv[1:] else 1
        names = [a for a in sys.argv[1:] if not a.startswith("-")]
        loader = unittest.defaultTestLoader
        suite = (loader.loadTestsFromNames(names, sys.modules[__name__]) if names
                 else loader.loadTestsFromModule(sys.modules[__name__]))
        result = unittest.TextTestRunner(verbosity=verbosity).run(suite)
    finally:
        sink.stop()
        redis_proc.terminate()
        redis_proc.wait(timeout=10)
        shutil.rmtree(tmpdir, ignore_errors=True)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    passed = result.testsRun - failed - len(result.skipped)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed or not result.testsRun else 0


if __name__ == "__main__":
    sys.exit(main())
