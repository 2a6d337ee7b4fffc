#!/usr/bin/python3
"""Cross-checks src/core/jwt.* against an independent implementation, PyJWT
(Debian's python3-jwt, with python3-cryptography), for all six algorithms
and in both directions: our tokens must verify in PyJWT, PyJWT's tokens must
verify in ours, and tampered or foreign-key tokens must fail in both.  It
also loads our JWKS output with PyJWT's JWK parser.

Build the driver from the repository root, after `make core`:

    g++ -std=c++17 -O2 -Wall -Wextra -Isrc tests/crosscheck/jwt_tool.cpp build/librestauth.a -lcrypto -lcjson -lhiredis -o build/jwt_tool

then run:

    /usr/bin/python3 tests/crosscheck/jwt_crosscheck.py [path/to/jwt_tool]

Keys are generated afresh with the openssl CLI in a temporary directory.
Prints "N passed, M failed" and exits non-zero when anything failed.
"""

import json
import os
import subprocess
import sys
import tempfile
import time

import jwt  # PyJWT

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOL = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build", "jwt_tool")

HMAC_LENGTHS = {"HS256": 32, "HS384": 48, "HS512": 64}
OPENSSL_GENPKEY = {
    "RS256": ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
    "ES256": ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
    "EdDSA": ["-algorithm", "ED25519"],
}

passed = 0
failed = 0


def check(name, condition, detail=""):
    global passed, failed
    if condition:
        passed += 1
        print("ok    " + name)
    else:
        failed += 1
        print("FAIL  " + name + (": " + detail if detail else ""))


def tool(*args, stdin=""):
    r = subprocess.run([TOOL] + [str(a) for a in args], input=stdin.encode("utf-8"),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return r.returncode, r.stdout.decode("utf-8"), r.stderr.decode("utf-8")


def openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


class Key:
    """One key on disk: `sign_file` (secret or private PEM), `verify_file`
    (secret or public PEM), and the values PyJWT wants for each."""

    def __init__(self, alg, directory, name):
        self.alg = alg
        base = os.path.join(directory, name)
        if alg in HMAC_LENGTHS:
            self.sign_file = self.verify_file = base + ".secret"
            secret = os.urandom(HMAC_LENGTHS[alg])
            with open(self.sign_file, "wb") as f:
                f.write(secret)
            self.py_sign = self.py_verify = secret
        else:
            self.sign_file = base + ".pem"
            self.verify_file = base + ".pub.pem"
            openssl("genpkey", *OPENSSL_GENPKEY[alg], "-out", self.sign_file)
            openssl("pkey", "-in", self.sign_file, "-pubout", "-out", self.verify_file)
            with open(self.sign_file, "rb") as f:
                self.py_sign = f.read()
            with open(self.verify_file, "rb") as f:
                self.py_verify = f.read()


def claims_for(alg, now, **extra):
    c = {"sub": "crosscheck", "alg_under_test": alg, "iat": now, "exp": now + 600,
         "name": "J\u00f6rg \u2713", "roles": ["a", "b"], "n": 12345}
    c.update(extra)
    return c


def ours_then_pyjwt(alg, key, other, now):
    claims = claims_for(alg, now)
    rc, out, err = tool("sign", alg, key.sign_file, "kid-" + alg,
                        stdin=json.dumps(claims, ensure_ascii=False))
    token = out.strip()
    check(alg + " ours signs", rc == 0 and token.count(".") == 2, err.strip())
    if rc != 0:
        return None
    try:
        got = jwt.decode(token, key.py_verify, algorithms=[alg])
        check(alg + " ours -> PyJWT verifies", got == claims, repr(got))
    except Exception as e:  # noqa: BLE001 -- any PyJWT error is a failure here
        check(alg + " ours -> PyJWT verifies", False, repr(e))
    header = jwt.get_unverified_header(token)
    check(alg + " ours header", header == {"alg": alg, "typ": "JWT", "kid": "kid-" + alg}, repr(header))

    # Tampered payload and foreign key must fail in PyJWT too.
    h, p, s = token.split(".")
    forged_payload = jwt.utils.base64url_encode(
        json.dumps(claims_for(alg, now, sub="admin")).encode()).decode()
    for what, bad_token, verify_key in (
            ("tampered", h + "." + forged_payload + "." + s, key.py_verify),
            ("foreign key", token, other.py_verify)):
        try:
            jwt.decode(bad_token, verify_key, algorithms=[alg])
            check(alg + " ours " + what + " -> PyJWT rejects", False, "accepted")
        except jwt.InvalidSignatureError:
            check(alg + " ours " + what + " -> PyJWT rejects", True)
        except Exception as e:  # noqa: BLE001
            check(alg + " ours " + what + " -> PyJWT rejects", False, repr(e))
    return token


def pyjwt_then_ours(alg, key, other, now):
    claims = claims_for(alg, now)
    for label, headers, kid_arg in (("with kid", {"kid": "kid-" + alg}, "kid-" + alg),
                                    ("without kid", None, "")):
        token = jwt.encode(claims, key.py_sign, algorithm=alg, headers=headers)
        rc, out, err = tool("verify", alg, key.sign_file, kid_arg, now, stdin=token)
        lines = out.splitlines()
        ok = rc == 0 and lines and lines[0] == "ok" and json.loads(lines[1]) == claims
        check(alg + " PyJWT " + label + " -> ours verifies", ok, out.strip() + err.strip())

    token = jwt.encode(claims, key.py_sign, algorithm=alg)
    if key.verify_file != key.sign_file:
        rc, out, err = tool("verify", alg, key.verify_file, "", now, stdin=token)
        check(alg + " PyJWT -> ours verifies with the public key only",
              rc == 0 and out.startswith("ok\n"), out.strip() + err.strip())

    foreign = jwt.encode(claims, other.py_sign, algorithm=alg)
    rc, out, _ = tool("verify", alg, key.sign_file, "", now, stdin=foreign)
    check(alg + " PyJWT foreign key -> ours rejects", rc == 1 and out.strip() == "bad_signature",
          out.strip())

    expired = jwt.encode(claims_for(alg, now, exp=now - 1), key.py_sign, algorithm=alg)
    rc, out, _ = tool("verify", alg, key.sign_file, "", now, stdin=expired)
    check(alg + " PyJWT expired -> ours rejects", rc == 1 and out.strip() == "expired", out.strip())

    # PyJWT happily signs "alg": "none" when asked; we must not accept it.
    unsecured = jwt.encode(claims, None, algorithm="none")
    rc, out, _ = tool("verify", alg, key.sign_file, "", now, stdin=unsecured)
    check(alg + " PyJWT alg=none -> ours rejects", rc == 1 and out.strip() == "alg_none", out.strip())


def jwks_loads_in_pyjwt(alg, key, our_token):
    rc, out, err = tool("jwks", alg, key.sign_file, "kid-" + alg)
    if alg in HMAC_LENGTHS:
        check(alg + " JWKS publishes no secret", rc == 0 and json.loads(out) == {"keys": []}, out + err)
        return
    try:
        keys = json.loads(out)["keys"]
        jwk = jwt.PyJWK(keys[0])
        got = jwt.decode(our_token, jwk.key, algorithms=[alg]) if our_token else None
        check(alg + " JWKS -> PyJWK verifies our token",
              len(keys) == 1 and keys[0]["kid"] == "kid-" + alg and got is not None)
    except Exception as e:  # noqa: BLE001
        check(alg + " JWKS -> PyJWK verifies our token", False, repr(e) + out + err)


def traditional_ec_pem(directory, now):
    # "BEGIN EC PRIVATE KEY" with an "EC PARAMETERS" block in front, as
    # `openssl ecparam -genkey` writes it.
    path = os.path.join(directory, "trad-ec.pem")
    openssl("ecparam", "-name", "prime256v1", "-genkey", "-out", path)
    rc, out, err = tool("sign", "ES256", path, stdin=json.dumps({"sub": "trad", "exp": now + 60}))
    try:
        with open(path, "rb") as f:
            pem = f.read()
        from cryptography.hazmat.primitives.serialization import load_pem_private_key
        pub = load_pem_private_key(pem, None).public_key()
        got = jwt.decode(out.strip(), pub, algorithms=["ES256"])
        check("ES256 traditional EC PEM -> PyJWT verifies", rc == 0 and got["sub"] == "trad")
    except Exception as e:  # noqa: BLE001
        check("ES256 traditional EC PEM -> PyJWT verifies", False, repr(e) + err)


def main():
    if not os.access(TOOL, os.X_OK):
        print("jwt_tool not found at %s; build it with the command in this file's docstring" % TOOL)
        return 2
    now = int(time.time())
    with tempfile.TemporaryDirectory(prefix="jwt-crosscheck-") as d:
        for alg in ("HS256", "HS384", "HS512", "RS256", "ES256", "EdDSA"):
            key = Key(alg, d, alg)
            other = Key(alg, d, alg + "-other")
            token = ours_then_pyjwt(alg, key, other, now)
            pyjwt_then_ours(alg, key, other, now)
            jwks_loads_in_pyjwt(alg, key, token)
        traditional_ec_pem(d, now)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
