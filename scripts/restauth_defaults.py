"""The module's defaults, read from src/core/restauth.h (the one place each
default lives), for the operator scripts: restauth-user and restauth-mailer
must agree with nginx.conf's defaults without repeating them.

DEFAULTS maps a setting's name (as in restauth.h's lists, e.g.
"redis_prefix", "mail_stream", "password_iterations") to its default, plus
"redis" and "redis_db" for restauth_redis and restauth_redis_db.
"""

import os
import re

HEADER = os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(__file__))),
                      "src", "core", "restauth.h")


def _value(text):
    text = text.strip()
    if text.startswith('"'):
        return text[1:-1]
    return int(eval(text, {"__builtins__": {}}))  # "3 * 86400" and the like


def read(header=HEADER):
    with open(header, encoding="utf-8") as f:
        src = f.read()
    out = {}
    for kind, name, value in re.findall(
            r'X\((STR|SEC|UINT|FLAG),\s*(\w+),\s*("[^"]*"|[0-9][0-9 *]*)\)', src):
        out[name] = _value(value)
    for name, value in re.findall(r'#define RESTAUTH_DEFAULT_(\w+)\s+("[^"]*"|\d+)', src):
        out[name.lower()] = _value(value)
    for key in ("redis", "redis_db", "redis_prefix", "mail_stream", "password_iterations"):
        if key not in out:
            raise RuntimeError("%s: no default for %s" % (header, key))
    return out


DEFAULTS = read()
