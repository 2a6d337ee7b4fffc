#!/usr/bin/python3
"""Tests of scripts/restauth-token, alone and against the module.

Run: /usr/bin/python3 tests/scripts/test_token.py [-v] [unittest names...]
     (make test-token builds the module first)

KeyRules, Inspect and Crosscheck need no server.  AgainstModule starts its
own redis-server and nginx with the built module (RESTAUTH_MODULE, default
build/ngx_http_restauth_module.so; nginx from TEST_NGINX_BINARY, default
/usr/sbin/nginx) on 127.0.0.1, ports 19040-19045, and checks both
directions: tokens the tool mints pass restauth_protect (and, with
--create-session, token/refresh/), and tokens the module issues at
/auth/login/ pass `inspect`.  Ends with the line "N passed, M failed".
"""

import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

import jwt  # Debian's python3-jwt: an independent implementation
import redis

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = os.path.join(ROOT, "scripts", "restauth-token")
USER_TOOL = os.path.join(ROOT, "scripts", "restauth-user")
KEYS = os.path.join(ROOT, "t", "keys")
MODULE = os.environ.get("RESTAUTH_MODULE",
                        os.path.join(ROOT, "build", "ngx_http_restauth_module.so"))
NGINX = os.environ.get("TEST_NGINX_BINARY", "/usr/sbin/nginx")
REDIS_PORT = 19040
PORTS = {"HS256": 19041, "RS256": 19042, "ES256": 19043, "EdDSA": 19044}
ECHO_PORT = 19045
ISS, AUD = "https://auth.example.com", "example-api"
TMP = None  # generated keys, nginx prefix


def run(*args, input=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("RESTAUTH_")}
    return subprocess.run([TOOL] + list(args), input=input, capture_output=True, text=True,
                          timeout=120, env=env,
                          stdin=None if input is not None else subprocess.DEVNULL)


def key(name):
    return os.path.join(KEYS, name)


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def parts(token):
    h, p, s = token.split(".")
    return json.loads(unb64(h)), json.loads(unb64(p)), s


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True, capture_output=True, timeout=120)


def make_keys():
    """Keys the repository does not ship: good ones of other sizes and wrong ones."""
    k = {}
    def path(name):
        k[name] = os.path.join(TMP, name)
        return k[name]
    with open(path("hs512.key"), "w") as f:
        f.write("s" * 64 + "\r\n")        # exactly 64 bytes once CR/LF are dropped
    with open(path("hs512-short.key"), "w") as f:
        f.write("s" * 63 + "\n")
    openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024",
            "-out", path("rsa1024.pem"))
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384",
            "-out", path("p384.pem"))
    openssl("genpkey", "-algorithm", "ED448", "-out", path("ed448.pem"))
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-aes-128-cbc", "-pass", "pass:secret", "-out", path("encrypted.pem"))
    openssl("pkey", "-in", key("es256.pem"), "-pubout", "-out", path("es256.pub.pem"))
    openssl("pkey", "-in", key("ed25519.pem"), "-pubout", "-out", path("ed25519.pub.pem"))
    openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
            "-out", path("rsa-other.pem"))
    return k


GEN = {}


class KeyRules(unittest.TestCase):
    """restauth_jwt_key's rules, with its refusals as clear errors (exit 2)."""

    def mint(self, *key_args, extra=()):
        return run("mint", "access", "--user-id", "7", *key_args, *extra)

    def refused(self, res, *fragments):
        self.assertEqual(res.returncode, 2, res.stdout + res.stderr)
        self.assertEqual(res.stdout, "")
        for f in fragments:
            self.assertIn(f, res.stderr)

    def test_every_algorithm_signs_what_it_names(self):
        for alg, path, kid in (("HS256", key("hs256.key"), None), ("HS512", GEN["hs512.key"], None),
                               ("RS256", key("rs256.pem"), "r1"), ("ES256", key("es256.pem"), "e1"),
                               ("EdDSA", key("ed25519.pem"), "d1")):
            args = ["--key", alg, path] + (["--kid", kid] if kid else [])
            res = self.mint(*args)
            self.assertEqual(res.returncode, 0, res.stderr)
            header, claims, _ = parts(res.stdout.strip())
            want = {"alg": alg, "typ": "JWT"}
            if kid:
                want["kid"] = kid
            self.assertEqual(header, want)
            self.assertEqual(claims["user_id"], 7)

    def test_alg_none_is_refused(self):
        for name in ("none", "None", "NONE"):
            self.refused(self.mint("--key", name, key("hs256.key")), 'alg "none" is refused')

    def test_unknown_or_miscased_algorithm(self):
        self.refused(self.mint("--key", "hs256", key("hs256.key")), 'unsupported algorithm "hs256"')
        self.refused(self.mint("--key", "PS256", key("rs256.pem")), 'unsupported algorithm "PS256"')

    def test_pem_as_hmac_secret(self):
        self.refused(self.mint("--key", "HS256", key("rs256.pub.pem")),
                     "looks like a PEM key, not an HMAC secret")

    def test_short_hmac_secret(self):
        self.refused(self.mint("--key", "HS512", GEN["hs512-short.key"]),
                     "HS512 secrets must be at least 64 bytes, this one has 63")
        self.assertEqual(self.mint("--key", "HS384", key("hs256.key")).returncode, 0)  # 61 >= 48

    def test_wrong_key_type_says_what_the_file_holds(self):
        cases = (("RS256", key("es256.pem"), "RS256 needs an RSA key, this file holds an EC key on P-256"),
                 ("ES256", key("rs256.pem"), "ES256 needs an EC key on the P-256 curve"),
                 ("ES256", GEN["p384.pem"], "this file holds an EC key on secp384r1"),
                 ("EdDSA", GEN["ed448.pem"], "EdDSA is supported with Ed25519 keys only"),
                 ("EdDSA", key("es256.pem"), "Ed25519 keys only, this file holds an EC key"),
                 ("RS256", GEN["rsa1024.pem"], "at least 2048 bits, this one has 1024"))
        for alg, path, msg in cases:
            self.refused(self.mint("--key", alg, path), msg)

    def test_secret_as_pem_key(self):
        self.refused(self.mint("--key", "RS256", key("hs256.key")),
                     "not a PEM private key", "HS256, HS384 or HS512")

    def test_encrypted_pem(self):
        self.refused(self.mint("--key", "ES256", GEN["encrypted.pem"]),
                     "encrypted PEM keys are not supported")

    def test_first_key_must_sign(self):
        self.refused(self.mint("--key", "RS256", key("rs256.pub.pem")),
                     "the first key signs tokens, so it must be a secret or a private key")

    def test_kid_rules(self):
        hs = ["--key", "HS256", key("hs256.key")]
        self.refused(self.mint(*hs, "--kid", "a", "--key", "HS256", key("hs256-next.key"),
                               "--kid", "a"), 'kid "a" is already used by another key')
        self.refused(self.mint(*hs, "--kid", "x" * 257), "at most 256 characters")
        self.refused(self.mint(*hs, "--kid", "caf\u00e9"), "printable ASCII")
        self.refused(self.mint(*hs, "--kid", ""), "must not be empty")
        res = self.mint("--kid", "a", *hs)
        self.assertEqual(res.returncode, 2)
        self.assertIn("--kid must follow the --key", res.stderr)

    def test_missing_key_file(self):
        self.refused(self.mint("--key", "HS256", os.path.join(TMP, "nope.key")),
                     "cannot read key file")
        self.refused(self.mint("--key", "HS256", TMP), "is not a regular file")

    def test_reserved_claims_have_their_own_options(self):
        hs = ["--key", "HS256", key("hs256.key")]
        self.refused(self.mint(*hs, "--claim", "exp=1"), "claim exp is set by --lifetime")
        self.refused(self.mint(*hs, "--claim-json", "user_id=2"), "--user-id")
        self.refused(self.mint(*hs, "--claim-json", "roles=[admin]"), "is not JSON")

    def test_claims_as_the_module_writes_them(self):
        res = run("mint", "access", "--user-id", "5", "--key", "HS256", key("hs256.key"),
                  "--lifetime", "1h30m", "--iss", ISS, "--aud", AUD, "--username", "erin",
                  "--email", "erin@example.com", "--is-staff", "--claim", "team=blue",
                  "--claim-json", 'roles=["a","b"]', "--now", "1800000000")
        self.assertEqual(res.returncode, 0, res.stderr)
        _, claims, _ = parts(res.stdout.strip())
        self.assertEqual(list(claims)[:8],
                         ["token_type", "exp", "iat", "jti", "user_id", "sid", "iss", "aud"])
        self.assertEqual(claims["exp"] - claims["iat"], 5400)
        self.assertEqual(claims["iat"], 1800000000)
        self.assertRegex(claims["jti"], r"^[0-9a-f]{32}\Z")
        self.assertRegex(claims["sid"], r"^[0-9a-f]{32}\Z")
        self.assertEqual((claims["username"], claims["email"], claims["is_staff"], claims["team"],
                          claims["roles"]), ("erin", "erin@example.com", True, "blue", ["a", "b"]))
        self.assertNotIn("is_superuser", claims)

    def test_default_lifetimes_are_the_modules(self):
        for ttype, life in (("access", 300), ("refresh", 86400)):
            res = run("mint", ttype, "--user-id", "5", "--key", "HS256", key("hs256.key"))
            _, claims, _ = parts(res.stdout.strip())
            self.assertEqual(claims["exp"] - claims["iat"], life)

    def test_refresh_without_session_warns(self):
        res = run("mint", "refresh", "--user-id", "5", "--key", "HS256", key("hs256.key"))
        self.assertEqual(res.returncode, 0, res.stderr)
        _, claims, _ = parts(res.stdout.strip())
        self.assertIn("warning: this refresh token names session %s, which does not exist"
                      % claims["sid"], res.stderr)
        self.assertIn("--create-session", res.stderr)
        quiet = run("mint", "refresh", "-q", "--user-id", "5", "--key", "HS256", key("hs256.key"))
        self.assertEqual(quiet.stderr, "")
        access = run("mint", "access", "--user-id", "5", "--key", "HS256", key("hs256.key"))
        self.assertEqual(access.stderr, "")


def forge(header, claims, sign_with=None):
    """A token with exactly these header and claims bytes (HS256 with the test key)."""
    h = header if isinstance(header, bytes) else json.dumps(header).encode()
    c = claims if isinstance(claims, bytes) else json.dumps(claims).encode()
    signing_input = b64(h) + "." + b64(c)
    secret = sign_with or open(key("hs256.key"), "rb").read().rstrip(b"\r\n")
    import hmac
    import hashlib
    return signing_input + "." + b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())


GOOD = {"token_type": "access", "exp": 4102444800, "iat": 1700000000, "jti": "j" * 32,
        "user_id": 1, "sid": "s" * 32, "username": "alice"}


class Inspect(unittest.TestCase):
    HS = ["--key", "HS256", key("hs256.key")]

    def inspect(self, token, *args):
        res = run("inspect", *args, token)
        self.assertIn(res.returncode, (0, 1), res.stderr)
        return res

    def verdict(self, token, *args):
        res = run("inspect", "--json", *args, token)
        self.assertIn(res.returncode, (0, 1), res.stderr)
        out = json.loads(res.stdout)
        self.assertEqual(res.returncode == 0, out["valid"])
        return out

    def test_valid_token_shows_claims_times_and_key(self):
        token = forge({"alg": "HS256", "typ": "JWT"}, GOOD)
        res = self.inspect(token, "--key", "RS256", key("rs256.pub.pem"), *self.HS)
        self.assertEqual(res.returncode, 0, res.stdout)
        self.assertIn('header: {"alg": "HS256", "typ": "JWT"}', res.stdout)
        self.assertRegex(res.stdout, r"exp: +4102444800 +2100-01-01 00:00:00 UTC \(in \d+d")
        self.assertRegex(res.stdout, r"iat: +1700000000 +2023-11-14 22:13:20 UTC \(\d+d.* ago\)")
        self.assertIn("signature: verified by key 2 of 2: HS256 %s (secret)" % key("hs256.key"),
                      res.stdout)
        self.assertIn("valid: yes", res.stdout)

    def test_token_from_stdin_and_bearer_prefix(self):
        token = forge({"alg": "HS256", "typ": "JWT"}, GOOD)
        res = run("inspect", *self.HS, input="Bearer %s\n" % token)
        self.assertEqual(res.returncode, 0, res.stdout + res.stderr)

    def test_refusals_say_why(self):
        hdr = {"alg": "HS256", "typ": "JWT"}
        good = forge(hdr, GOOD)
        h64, p64, s64 = good.split(".")
        tampered = h64 + "." + b64(json.dumps(dict(GOOD, user_id=2)).encode()) + "." + s64
        cases = [
            (tampered, (), "bad_signature"),
            (forge(hdr, GOOD, sign_with=b"x" * 64), (), "bad_signature"),
            (forge(hdr, dict(GOOD, exp=1000000000)), (), "expired"),
            (forge(hdr, dict(GOOD, nbf=4000000000)), (), "not_yet_valid"),
            (forge(hdr, dict(GOOD, exp="4102444800")), (), "bad_claim_type"),
            (forge(hdr, {k: v for k, v in GOOD.items() if k != "jti"}), (), "missing claims"),
            (forge(dict(hdr, kid="nope"), GOOD), (), "unknown_kid"),
            (forge(dict(hdr, crit=["exp"]), GOOD), (), "unsupported_crit"),
            (forge(dict(hdr, alg="HS384"), GOOD), (), "alg_mismatch"),
            (forge(dict(hdr, alg="PS256"), GOOD), (), "alg_unsupported"),
            (forge(b'{"alg":"HS256","alg":"HS256"}', GOOD), (), "duplicate_member"),
            (forge(hdr, b'{"user_id":1,"user_id":2}'), (), "duplicate_member"),
            (forge(hdr, b'{"sub":"a\\u0000b"}'), (), "bad_json"),
            (forge(hdr, GOOD), ("--iss", ISS), "wrong issuer"),
            (forge(hdr, dict(GOOD, aud=["x", AUD])), ("--aud", "y"), "wrong audience"),
            (forge(hdr, GOOD), ("--type", "refresh"), "wrong token type"),
            (good + "." + s64, (), "malformed"),
            (h64 + "." + p64 + "." + s64 + "=", (), "bad_base64"),
            ("x" * 9000, (), "too_large"),
        ]
        for token, extra, status in cases:
            with self.subTest(status=status, extra=extra):
                out = self.verdict(token, *self.HS, *extra)
                self.assertFalse(out["valid"])
                self.assertEqual(out["status"], status)
                self.assertTrue(out["reason"])

    def test_accepts_what_the_options_allow(self):
        hdr = {"alg": "HS256", "typ": "JWT"}
        self.assertTrue(self.verdict(forge(hdr, dict(GOOD, iss=ISS, aud=[AUD, "x"])),
                                     *self.HS, "--iss", ISS, "--aud", AUD)["valid"])
        self.assertTrue(self.verdict(forge(hdr, dict(GOOD, exp=int(time.time()) - 30)),
                                     *self.HS, "--leeway", "5m")["valid"])

    def test_non_canonical_base64_is_refused(self):
        token = forge({"alg": "HS256", "typ": "JWT"}, GOOD)
        h, p, s = token.split(".")
        # The last character of a 43-character HS256 signature carries 2
        # stray bits: flipping one keeps the bytes but not the encoding.
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        twin = alphabet[alphabet.index(s[-1]) ^ 1]
        self.assertEqual(unb64(s), unb64(s[:-1] + twin))
        self.assertEqual(self.verdict("%s.%s.%s" % (h, p, s[:-1] + twin), *self.HS)["status"],
                         "bad_base64")

    def test_alg_none_in_any_case(self):
        for name in ("none", "nOnE"):
            token = b64(json.dumps({"alg": name, "typ": "JWT"}).encode()) + "." + \
                b64(json.dumps(GOOD).encode()) + "."
            res = self.inspect(token, *self.HS)
            self.assertEqual(res.returncode, 1)
            self.assertIn("valid: NO: alg_none", res.stdout)
            self.assertIn("claims (UNVERIFIED", res.stdout)

    def test_kid_picks_the_key(self):
        hs = ["--key", "HS256", key("hs256.key"), "--kid", "old",
              "--key", "HS256", key("hs256-next.key"), "--kid", "new"]
        token = run("mint", "access", "--user-id", "1", "--key", "HS256", key("hs256.key"),
                    "--kid", "old").stdout.strip()
        out = self.verdict(token, *hs)
        self.assertTrue(out["valid"])
        self.assertIn("kid=old", out["key"])
        # The right secret under the wrong kid fails: the kid decides.
        swapped = run("mint", "access", "--user-id", "1", "--key", "HS256", key("hs256.key"),
                      "--kid", "new").stdout.strip()
        self.assertEqual(self.verdict(swapped, *hs)["status"], "bad_signature")
        # A kid whose key has another alg.
        es = run("mint", "access", "--user-id", "1", "--key", "ES256", key("es256.pem"),
                 "--kid", "old").stdout.strip()
        self.assertEqual(self.verdict(es, *hs)["status"], "alg_mismatch")

    def test_public_keys_verify(self):
        for alg, priv, pub in (("RS256", key("rs256.pem"), key("rs256.pub.pem")),
                               ("ES256", key("es256.pem"), GEN["es256.pub.pem"]),
                               ("EdDSA", key("ed25519.pem"), GEN["ed25519.pub.pem"])):
            token = run("mint", "access", "--user-id", "1", "--key", alg, priv).stdout.strip()
            self.assertTrue(self.verdict(token, "--key", alg, pub)["valid"], alg)
            if alg == "RS256":
                other = ["--key", "RS256", GEN["rsa-other.pem"]]
                self.assertEqual(self.verdict(token, *other)["status"], "bad_signature")

    def test_no_key_decodes_but_never_says_valid(self):
        token = forge({"alg": "HS256", "typ": "JWT"}, GOOD)
        res = self.inspect(token)
        self.assertEqual(res.returncode, 1)
        self.assertIn('"alice"', res.stdout)
        self.assertIn("no --key given", res.stdout)

    def test_bad_key_is_a_usage_error(self):
        res = run("inspect", "--key", "ES256", key("rs256.pem"), "a.b.c")
        self.assertEqual(res.returncode, 2)
        self.assertIn("ES256 needs an EC key", res.stderr)


class Crosscheck(unittest.TestCase):
    """The tool's tokens against python3-jwt, both ways."""

    ALGS = (("HS256", key("hs256.key")), ("RS256", key("rs256.pem")),
            ("ES256", key("es256.pem")), ("EdDSA", key("ed25519.pem")))

    def material(self, alg, path):
        data = open(path, "rb").read()
        return data.rstrip(b"\r\n") if alg.startswith("HS") else data

    def public(self, alg, path):
        from cryptography.hazmat.primitives import serialization
        if alg.startswith("HS"):
            return self.material(alg, path)
        return serialization.load_pem_private_key(open(path, "rb").read(), None).public_key()

    def test_pyjwt_verifies_minted_tokens(self):
        for alg, path in self.ALGS:
            token = run("mint", "access", "--user-id", "9", "--key", alg, path,
                        "--username", "x").stdout.strip()
            claims = jwt.decode(token, self.public(alg, path), algorithms=[alg])
            self.assertEqual((claims["user_id"], claims["username"]), (9, "x"), alg)

    def test_inspect_verifies_pyjwt_tokens(self):
        for alg, path in self.ALGS:
            token = jwt.encode(dict(GOOD, user_id=11), self.material(alg, path), algorithm=alg)
            res = run("inspect", "--json", "--key", alg, path, token)
            self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
            self.assertEqual(json.loads(res.stdout)["claims"]["user_id"], 11)


# --------------------------------------------------------------------------
# Against the module


NGINX_CONF = """
load_module {module};
daemon off;
master_process off;
worker_processes 1;
error_log {tmp}/error.log info;
pid {tmp}/nginx.pid;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    restauth_redis 127.0.0.1:{redis};
    restauth_password_iterations 1000;
    restauth_jwt_claims username email is_staff;

    server {{
        listen 127.0.0.1:{echo};
        location / {{
            return 200 "user_id=$http_x_auth_user_id username=$http_x_auth_username staff=$http_x_auth_staff";
        }}
    }}
{servers}
}}
"""

SERVER = """
    server {{
        listen 127.0.0.1:{port};
        {keys}
        {extra}
        location /auth/ {{ restauth_api; }}
        location /p/ {{
            restauth_protect on;
            restauth_claim_header X-Auth-Staff is_staff;
            proxy_pass http://127.0.0.1:{echo};
        }}
        location /live/ {{
            restauth_protect on;
            restauth_check_session on;
            proxy_pass http://127.0.0.1:{echo};
        }}
    }}
"""

# The first key of each server signs; each also verifies a second key.
SERVER_KEYS = {
    "HS256": [("HS256", key("hs256.key"), "h1"), ("HS256", key("hs256-next.key"), "h2")],
    "RS256": [("RS256", key("rs256.pem"), None), ("HS256", key("hs256.key"), None)],
    "ES256": [("ES256", key("es256.pem"), "e1"), ("EdDSA", key("ed25519.pem"), "d1")],
    "EdDSA": [("EdDSA", key("ed25519.pem"), None), ("ES256", key("es256.pem"), None)],
}


def key_args(keys):
    out = []
    for alg, path, kid in keys:
        out += ["--key", alg, path] + (["--kid", kid] if kid else [])
    return out


def wait_port(port, proc, what, logfile):
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            break
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    proc.kill()
    log = open(logfile).read()[-2000:] if os.path.exists(logfile) else ""
    raise RuntimeError("%s did not start on port %d\n%s" % (what, port, log))


class AgainstModule(unittest.TestCase):
    procs = []

    @classmethod
    def setUpClass(cls):
        if not os.path.exists(MODULE):
            raise RuntimeError("no module at %s: run make module (or set RESTAUTH_MODULE)" % MODULE)
        d = os.path.join(TMP, "nginx")
        os.makedirs(d)
        redis_log = os.path.join(d, "redis.log")
        rp = subprocess.Popen(["redis-server", "--port", str(REDIS_PORT), "--bind", "127.0.0.1",
                               "--save", "", "--appendonly", "no", "--dir", d],
                              stdout=open(redis_log, "w"), stderr=subprocess.STDOUT)
        cls.procs.append(rp)
        wait_port(REDIS_PORT, rp, "redis-server", redis_log)
        servers = ""
        for alg, port in PORTS.items():
            keys = "\n        ".join("restauth_jwt_key %s %s%s;" % (a, p, " kid=" + k if k else "")
                                     for a, p, k in SERVER_KEYS[alg])
            extra = ("restauth_jwt_issuer %s;\n        restauth_jwt_audience %s;" % (ISS, AUD)
                     if alg == "HS256" else "")
            servers += SERVER.format(port=port, keys=keys, extra=extra, echo=ECHO_PORT)
        conf = os.path.join(d, "nginx.conf")
        with open(conf, "w") as f:
            f.write(NGINX_CONF.format(module=MODULE, tmp=d, redis=REDIS_PORT, echo=ECHO_PORT,
                                      servers=servers))
        err = os.path.join(d, "error.log")
        np = subprocess.Popen([NGINX, "-p", d + "/", "-c", conf, "-e", err],
                              stdout=subprocess.DEVNULL, stderr=open(os.path.join(d, "stderr"), "w"))
        cls.procs.append(np)
        for port in list(PORTS.values()) + [ECHO_PORT]:
            wait_port(port, np, "nginx", os.path.join(d, "stderr"))
        cls.r = redis.Redis(port=REDIS_PORT, decode_responses=True)
        res = subprocess.run([USER_TOOL, "--redis", "127.0.0.1:%d" % REDIS_PORT, "create", "alice",
                              "--email", "alice@example.com", "--staff", "--password-stdin",
                              "--iterations", "1000"], input="alice-password-1\n",
                             capture_output=True, text=True, timeout=120)
        if res.returncode != 0:
            raise RuntimeError(res.stderr)
        cls.alice = int(cls.r.hget("restauth:users:by_username", "alice"))

    @classmethod
    def tearDownClass(cls):
        for p in reversed(cls.procs):
            p.terminate()
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def http(self, alg, method, path, token=None, body=None):
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (PORTS[alg], path), method=method,
                                     data=json.dumps(body).encode() if body is not None else None)
        if body is not None:
            req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", "Bearer " + token)
        try:
            with urllib.request.urlopen(req, timeout=120) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def mint(self, alg, *args, keys=None):
        iss = ["--iss", ISS, "--aud", AUD] if alg == "HS256" else []
        res = run("mint", *args, *key_args(keys or SERVER_KEYS[alg]), *iss,
                  "--redis", "127.0.0.1:%d" % REDIS_PORT)
        self.assertEqual(res.returncode, 0, res.stderr)
        return res.stdout.strip()

    def test_minted_access_tokens_pass_restauth_protect(self):
        for alg in PORTS:
            with self.subTest(alg=alg):
                token = self.mint(alg, "access", "--user-id", "42", "--username", "zed",
                                  "--is-staff")
                self.assertEqual(self.http(alg, "GET", "/p/", token),
                                 (200, "user_id=42 username=zed staff=true"))
                # Signed with the server's second key, which verifies but never signs.
                second = self.mint(alg, "access", "--user-id", "43",
                                   keys=SERVER_KEYS[alg][1:])
                self.assertEqual(self.http(alg, "GET", "/p/", second)[0], 200)

    def test_tokens_the_module_refuses(self):
        for alg in PORTS:
            with self.subTest(alg=alg):
                other = "RS256" if alg != "RS256" else "ES256"
                wrong = self.mint(alg, "access", "--user-id", "42", keys=SERVER_KEYS[other][:1])
                self.assertEqual(self.http(alg, "GET", "/p/", wrong)[0], 401)
                self.assertEqual(self.http(alg, "GET", "/p/", self.mint(
                    alg, "access", "--user-id", "42", "--expired"))[0], 401)
                self.assertEqual(self.http(alg, "GET", "/p/", self.mint(
                    alg, "refresh", "-q", "--user-id", "42"))[0], 401)
        # iss/aud are required where configured.
        res = run("mint", "access", "--user-id", "42", *key_args(SERVER_KEYS["HS256"]),
                  "--iss", ISS)
        self.assertEqual(self.http("HS256", "GET", "/p/", res.stdout.strip())[0], 401)

    def test_module_tokens_pass_inspect(self):
        for alg in PORTS:
            with self.subTest(alg=alg):
                status, body = self.http(alg, "POST", "/auth/login/", body={
                    "username": "alice", "password": "alice-password-1"})
                self.assertEqual(status, 200, body)
                pair = json.loads(body)
                iss = ["--iss", ISS, "--aud", AUD] if alg == "HS256" else []
                for ttype in ("access", "refresh"):
                    res = run("inspect", "--json", "--type", ttype, *iss,
                              *key_args(SERVER_KEYS[alg]), pair[ttype])
                    self.assertEqual(res.returncode, 0, res.stdout + res.stderr)
                    out = json.loads(res.stdout)
                    self.assertEqual(out["claims"]["user_id"], self.alice)
                    self.assertTrue(out["key"].startswith(SERVER_KEYS[alg][0][0] + " "), out["key"])
                self.assertEqual(out["claims"]["token_type"], "refresh")
                # The human form: the key that verified it, the claims and their times.
                text = run("inspect", *iss, *key_args(SERVER_KEYS[alg]), pair["access"]).stdout
                self.assertIn("signature: verified by key 1 of 2: %s" % SERVER_KEYS[alg][0][0], text)
                self.assertRegex(text, r'username: +"alice"')
                self.assertRegex(text, r"exp: +\d+ +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(in [45]m")
                # Only with the key that signed: the second key alone refuses it.
                res = run("inspect", "--json", *iss, *key_args(SERVER_KEYS[alg][1:]), pair["access"])
                self.assertEqual(res.returncode, 1)
                self.assertIn(json.loads(res.stdout)["status"], ("bad_signature", "alg_mismatch",
                                                                 "unknown_kid"))
                if alg == "HS256":  # and with the issuer the server requires, only that one
                    res = run("inspect", "--iss", "https://other.example.com",
                              *key_args(SERVER_KEYS[alg]), pair["access"])
                    self.assertEqual(res.returncode, 1)
                    self.assertIn("wrong issuer", res.stdout)

    def test_refresh_with_create_session_rotates(self):
        token = self.mint("ES256", "refresh", "--user-id", str(self.alice), "--create-session",
                          "--lifetime", "2h")
        _, claims, _ = parts(token)
        session = self.r.hgetall("restauth:session:" + claims["sid"])
        self.assertEqual(session["jti"], claims["jti"])
        self.assertEqual(session["user_id"], str(self.alice))
        self.assertEqual(session["expires"], str(claims["exp"]))
        self.assertTrue(7000 < self.r.ttl("restauth:session:" + claims["sid"]) <= 7200)
        self.assertIsNotNone(self.r.zscore("restauth:user:%d:sessions" % self.alice, claims["sid"]))
        status, body = self.http("ES256", "POST", "/auth/token/refresh/", body={"refresh": token})
        self.assertEqual(status, 200, body)
        # Rotated: the session now records the new refresh token's jti.
        new_claims = parts(json.loads(body)["refresh"])[1]
        self.assertEqual(self.r.hget("restauth:session:" + claims["sid"], "jti"), new_claims["jti"])

    def test_create_session_keeps_the_cap(self):
        # As a login: the user's oldest sessions beyond the cap are revoked.
        first = parts(self.mint("ES256", "refresh", "--user-id", str(self.alice), "--create-session",
                                "--max-sessions", "1"))[1]
        second = parts(self.mint("ES256", "refresh", "--user-id", str(self.alice), "--create-session",
                                 "--max-sessions", "1"))[1]
        self.assertEqual(self.r.zrange("restauth:user:%d:sessions" % self.alice, 0, -1), [second["sid"]])
        self.assertFalse(self.r.exists("restauth:session:" + first["sid"]))

    def test_refresh_without_session_is_refused(self):
        token = self.mint("ES256", "refresh", "-q", "--user-id", str(self.alice))
        status, _ = self.http("ES256", "POST", "/auth/token/refresh/", body={"refresh": token})
        self.assertEqual(status, 401)

    def test_check_session_needs_the_session(self):
        live = self.mint("EdDSA", "access", "--user-id", str(self.alice), "--create-session")
        self.assertEqual(self.http("EdDSA", "GET", "/live/", live)[0], 200)
        loose = self.mint("EdDSA", "access", "--user-id", str(self.alice))
        self.assertEqual(self.http("EdDSA", "GET", "/live/", loose)[0], 401)
        self.assertEqual(self.http("EdDSA", "GET", "/p/", loose)[0], 200)

    def test_create_session_for_unknown_user_writes_nothing(self):
        before = sorted(self.r.keys("*"))
        res = run("mint", "refresh", "--user-id", "999", *key_args(SERVER_KEYS["RS256"]),
                  "--create-session", "--redis", "127.0.0.1:%d" % REDIS_PORT)
        self.assertEqual(res.returncode, 1)
        self.assertEqual(res.stdout, "")
        self.assertIn("no user with id 999", res.stderr)
        self.assertEqual(sorted(self.r.keys("*")), before)

    def test_create_session_redis_down(self):
        res = run("mint", "refresh", "--user-id", "1", *key_args(SERVER_KEYS["RS256"]),
                  "--create-session", "--redis", "127.0.0.1:1")
        self.assertEqual(res.returncode, 3)
        self.assertIn("Redis error", res.stderr)
        self.assertEqual(res.stdout, "")


def main():
    global TMP
    TMP = tempfile.mkdtemp(prefix="restauth-token-")
    try:
        GEN.update(make_keys())
        verbosity = 2 if "-v" in sys.argv[1:] else 1
        names = [a for a in sys.argv[1:] if not a.startswith("-")]
        loader = unittest.defaultTestLoader
        suite = (loader.loadTestsFromNames(names, sys.modules[__name__]) if names
                 else loader.loadTestsFromModule(sys.modules[__name__]))
        result = unittest.TextTestRunner(verbosity=verbosity).run(suite)
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
    # A test with failing subtests counts once.
    def test_id(test):
        return getattr(test, "test_case", test).id()
    failed = len({test_id(t) for t, _ in result.failures + result.errors}
                 | {test_id(t) for t in result.unexpectedSuccesses})
    passed = result.testsRun - failed - len(result.skipped)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed or not result.testsRun else 0


if __name__ == "__main__":
    sys.exit(main())
