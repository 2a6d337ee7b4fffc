#!/bin/sh
# The demo, end to end in a real browser (issue #6): scripts/demo on loopback
# test ports (nginx 19089, redis 19078, legacy backend 19077), its login page
# driven in headless Chromium (tests/browser/demo_flow.py, DevTools protocol
# over a pipe), then Ctrl-C to the demo and a check that everything stopped.
# Prints "demo_flow: N passed, M failed"; exits non-zero on any failure.
# Needs Debian's chromium (installed here with apt-get when missing and root).
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
export DEMO_PORT=${DEMO_PORT:-19089}
export DEMO_REDIS_PORT=${DEMO_REDIS_PORT:-19078}
export DEMO_BACKEND_PORT=${DEMO_BACKEND_PORT:-19077}
export CHROMIUM=${CHROMIUM:-chromium}

if ! command -v "$CHROMIUM" >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "# installing Debian's chromium"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    fi
    if ! command -v "$CHROMIUM" >/dev/null 2>&1; then
        echo "not ok - chromium is not installed (apt-get install chromium)"
        echo "demo_flow: 0 passed, 1 failed"
        exit 1
    fi
fi
if [ ! -f "$here/build/ngx_http_restauth_module.so" ]; then
    make -C "$here" module >/dev/null || {
        echo "not ok - make module failed"; echo "demo_flow: 0 passed, 1 failed"; exit 1; }
fi
exec /usr/bin/python3 "$here/tests/browser/demo_flow.py" "$@"
