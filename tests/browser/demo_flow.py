#!/usr/bin/python3
"""End-to-end browser test of the demo (issue #6).

Starts scripts/demo (nginx + module, redis-server, the legacy backend) on
loopback test ports, drives its login page in headless Chromium, and checks
that the protected /legacy/ page receives the verified identity.  At the end
it sends the demo Ctrl-C (SIGINT to its process group, as a terminal does)
and checks that nginx, the backend and redis are gone.

Chromium is driven over the Chrome DevTools Protocol on a pipe
(--remote-debugging-pipe: fds 3 and 4, NUL-terminated JSON), so no port is
opened and nothing beyond Python's standard library is needed.

Run through tests/browser/demo_flow.sh.  Environment: DEMO_PORT (19089),
DEMO_REDIS_PORT (19078), DEMO_BACKEND_PORT (19077), CHROMIUM (chromium),
DEMO_FLOW_SCREENSHOTS (a directory: save PNGs of the pages there),
DEMO_FLOW_KEEP=1 (keep the work directory).
"""
import base64
import fcntl
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PORT = int(os.environ.get("DEMO_PORT", "19089"))
REDIS_PORT = int(os.environ.get("DEMO_REDIS_PORT", "19078"))
BACKEND_PORT = int(os.environ.get("DEMO_BACKEND_PORT", "19077"))
BASE = "http://127.0.0.1:%d" % PORT
CHROMIUM = os.environ.get("CHROMIUM", "chromium")
SHOTS = os.environ.get("DEMO_FLOW_SCREENSHOTS", "")
USER, PASSWORD, EMAIL = "demo", "demo-password-1", "demo@example.com"

passed = 0
failed = 0


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print("ok - %s" % name)
    else:
        failed += 1
        print("not ok - %s%s" % (name, (": " + str(detail)) if detail else ""))
    sys.stdout.flush()
    return cond


class Timeout(Exception):
    pass


class CDPError(Exception):
    pass


class Browser:
    """Headless Chromium and one page, spoken to over the DevTools pipe."""

    def __init__(self, workdir):
        self.profile = os.path.join(workdir, "profile")
        self.log_path = os.path.join(workdir, "chromium.log")
        to_r, self.to_w = os.pipe()      # we write commands, Chromium reads fd 3
        self.from_r, from_w = os.pipe()  # Chromium writes fd 4, we read

        def child_fds():
            # Move the ends out of the way first so neither is clobbered.
            a = fcntl.fcntl(to_r, fcntl.F_DUPFD, 10)
            b = fcntl.fcntl(from_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)

        args = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--no-default-browser-check",
                "--disable-extensions", "--user-data-dir=" + self.profile,
                "--window-size=1100,900", "--remote-debugging-pipe", "about:blank"]
        self.log = open(self.log_path, "wb")
        # Python's own fds are not inheritable (PEP 446): with close_fds off
        # only stdio and the two dup2()ed pipe ends reach Chromium.
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, preexec_fn=child_fds,
                                     close_fds=False, start_new_session=True)
        os.close(to_r)
        os.close(from_w)
        self.buf = b""
        self.next_id = 0
        self.session = None

    def connect(self):
        version = self.call("Browser.getVersion", timeout=30)
        print("# %s" % version.get("product"))
        targets = self.call("Target.getTargets")["targetInfos"]
        pages = [t for t in targets if t["type"] == "page"]
        target = pages[0]["targetId"] if pages else \
            self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget",
                                 {"targetId": target, "flatten": True})["sessionId"]
        self.call("Page.enable")
        self.call("Runtime.enable")

    def _read_message(self, deadline):
        while b"\0" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Timeout("no answer from Chromium")
            ready, _, _ = select.select([self.from_r], [], [], min(left, 1.0))
            if ready:
                chunk = os.read(self.from_r, 1 << 20)
                if not chunk:
                    raise CDPError("Chromium closed the DevTools pipe")
                self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, params=None, timeout=15, session=True):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        data = json.dumps(msg).encode() + b"\0"
        while data:
            data = data[os.write(self.to_w, data):]
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise CDPError("%s: %s" % (method, reply["error"].get("message")))
                return reply.get("result", {})
            # events are not needed: the test polls the page instead

    def eval(self, expression):
        res = self.call("Runtime.evaluate", {"expression": expression,
                                             "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in res:
            raise CDPError("JS: %s" % res["exceptionDetails"].get("exception", {})
                           .get("description", res["exceptionDetails"].get("text")))
        return res.get("result", {}).get("value")

    def wait_for(self, expression, timeout=15):
        """Poll until the expression is truthy (navigations may come between)."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                value = self.eval(expression)
                if value:
                    return value
                last = value
            except CDPError as e:   # e.g. the context went away mid-navigation
                last = e
            time.sleep(0.1)
        raise Timeout("%s (last: %r)" % (expression, last))

    def goto(self, path):
        self.call("Page.navigate", {"url": BASE + path})

    def loaded(self, pathname, timeout=15):
        self.wait_for("location.pathname === %s && document.readyState === 'complete'"
                      % json.dumps(pathname), timeout)

    def type_into(self, selector, text):
        """Focus a field, clear it, and type as a keyboard would."""
        self.eval("(function(){var e=document.querySelector(%s); e.focus(); e.select();})()"
                  % json.dumps(selector))
        self.call("Input.dispatchKeyEvent", {"type": "rawKeyDown", "key": "Delete",
                                             "code": "Delete", "windowsVirtualKeyCode": 46})
        self.call("Input.dispatchKeyEvent", {"type": "keyUp", "key": "Delete",
                                             "code": "Delete", "windowsVirtualKeyCode": 46})
        if text:
            self.call("Input.insertText", {"text": text})

    def click(self, selector):
        """A real mouse click in the middle of the element."""
        box = self.wait_for(
            "(function(){var e=document.querySelector(%s); if(!e||e.offsetParent===null)"
            "return null; e.scrollIntoView({block:'center'}); var r=e.getBoundingClientRect();"
            "return {x:r.left+r.width/2, y:r.top+r.height/2};})()" % json.dumps(selector))
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", {"type": kind, "x": box["x"], "y": box["y"],
                                                   "button": "left", "clickCount": 1})

    def text(self, selector):
        return self.eval("(function(){var e=document.querySelector(%s);"
                         "return e ? e.textContent.trim() : null;})()" % json.dumps(selector))

    def visible(self, selector):
        return self.eval("(function(){var e=document.querySelector(%s);"
                         "return !!e && e.offsetParent !== null;})()" % json.dumps(selector))

    def screenshot(self, name):
        if not SHOTS:
            return
        os.makedirs(SHOTS, exist_ok=True)
        data = self.call("Page.captureScreenshot", {"format": "png"}, timeout=30)["data"]
        with open(os.path.join(SHOTS, name + ".png"), "wb") as f:
            f.write(base64.b64decode(data))

    def close(self):
        if self.proc.poll() is None:
            try:
                self.call("Browser.close", session=False, timeout=5)
            except Exception:
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        # Chromium's helpers (zygote, renderers) share its process group.
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if self.proc.poll() is None:
            self.proc.wait(5)
        for fd in (self.to_w, self.from_r):
            try:
                os.close(fd)
            except OSError:
                pass
        self.log.close()


def http_status(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


def pid_alive(pid):
    """Alive and not a zombie (a zombie's cmdline is empty)."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return bool(f.read())
    except OSError:
        return False


class Demo:
    """scripts/demo run, in its own session so that SIGINT to the group is
    exactly what Ctrl-C in a terminal does."""

    def __init__(self, workdir):
        self.dir = os.path.join(workdir, "demo")
        self.log_path = os.path.join(workdir, "demo.log")
        env = dict(os.environ, DEMO_PORT=str(PORT), DEMO_REDIS_PORT=str(REDIS_PORT),
                   DEMO_BACKEND_PORT=str(BACKEND_PORT), DEMO_DIR=self.dir)
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([os.path.join(HERE, "scripts", "demo"), "run"], env=env,
                                     stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self.pids = {}

    def wait_ready(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            if http_status(BASE + "/auth/health/") == 200 and b"open http" in self.output():
                self.pids = self.read_pids()
                return True
            time.sleep(0.2)
        return False

    def read_pids(self):
        pids = {}
        for name in ("nginx", "backend", "redis"):
            try:
                with open(os.path.join(self.dir, name + ".pid")) as f:
                    pids[name] = int(f.read().strip())
            except (OSError, ValueError):
                pass
        return pids

    def output(self):
        with open(self.log_path, "rb") as f:
            return f.read()

    def interrupt(self, timeout=30):
        """Ctrl-C; True when the demo script exited by itself."""
        if self.proc.poll() is not None:
            return True
        try:
            os.killpg(self.proc.pid, signal.SIGINT)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout)
            return True
        except subprocess.TimeoutExpired:
            return False

    def force_stop(self):
        """Last resort, by the ids the demo recorded."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        for name, pid in self.pids.items():
            if pid_alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(5)
        self.log.close()


def flow(b):
    # 1. A browser that is not signed in is sent from /legacy/ to the login page.
    b.goto("/legacy/")
    b.wait_for("location.pathname === '/' && !document.getElementById('signed-out').hidden")
    check("anonymous /legacy/ redirects to the login page with ?next=",
          b.eval("location.search") == "?next=%2Flegacy%2F", b.eval("location.href"))
    check("the login page says what it will open", "/legacy/" in (b.text("#status") or ""),
          b.text("#status"))
    check("the login page has both forms",
          b.visible("#login") and b.visible("#register") and
          b.eval("document.querySelectorAll('#register input[name]').length") == 4)

    # 2. API errors are shown: non_field_errors, then a field error.
    b.type_into("#login-username", USER)
    b.type_into("#login-password", "not-the-password")
    b.click("#login button[type=submit]")
    msg = b.wait_for("document.querySelector('#login .error[data-for=_form]').textContent")
    check("a wrong password shows non_field_errors",
          msg == "Unable to log in with provided credentials.", msg)
    b.type_into("#login-password", "")
    b.click("#login button[type=submit]")
    msg = b.wait_for("document.querySelector('#login .error[data-for=password]').textContent")
    check("a blank password shows the field error under the field",
          msg == "This field may not be blank." and
          b.eval("document.getElementById('login-password').classList.contains('invalid')"), msg)
    b.screenshot("1-login-errors")

    # 3. Log in through the form on the plain login page.
    b.goto("/")
    b.loaded("/")
    b.wait_for("!document.getElementById('signed-out').hidden")
    b.type_into("#login-username", USER)
    b.type_into("#login-password", PASSWORD)
    b.click("#login button[type=submit]")
    try:
        b.wait_for("!document.getElementById('signed-in').hidden", timeout=20)
        signed_in = True
    except Timeout as e:
        signed_in = False
        b.screenshot("3-login-failed")
        check("logging in shows the signed-in view", False,
              "%s; form error: %r" % (e, b.text("#login .error[data-for=_form]")))
    if signed_in:
        check("logging in shows the signed-in view", b.text("#who-name") == USER,
              b.text("#who-name"))
    detail = b.text("#who-detail") or ""
    check("the signed-in view shows the e-mail", EMAIL in detail, detail)
    check("nothing is kept in localStorage or sessionStorage",
          b.eval("localStorage.length === 0 && sessionStorage.length === 0"))
    cookies = b.eval("document.cookie")
    check("the token cookies are HttpOnly (not readable by scripts), csrftoken is",
          "access_token" not in cookies and "refresh_token" not in cookies and
          "csrftoken=" in cookies, cookies)
    b.screenshot("2-signed-in")

    # 4. Open the protected legacy page: the backend saw the verified identity.
    b.click("#open-legacy")
    b.wait_for("location.pathname === '/legacy/' && document.readyState === 'complete'"
               " && !!document.getElementById('h-x-auth-username')")
    b.screenshot("3-legacy")
    uid = detail.replace("user id", "").split("\u00b7")[0].strip()
    check("the legacy page shows X-Auth-Username demo", b.text("#h-x-auth-username") == USER,
          b.text("#h-x-auth-username"))
    check("the legacy page shows X-Auth-Email", b.text("#h-x-auth-email") == EMAIL,
          b.text("#h-x-auth-email"))
    check("the legacy page shows X-Auth-User-Id, the user's pk",
          uid.isdigit() and b.text("#h-x-auth-user-id") == uid,
          "%r vs %r" % (b.text("#h-x-auth-user-id"), uid))
    check("the legacy page greets the user", b.text("#username") == USER, b.text("#who"))

    # 5. The access cookie lives 5 minutes: without it /legacy/ goes back to
    #    the login page, which renews it with the refresh cookie (a POST that
    #    needs X-CSRFToken) and offers the way back.
    b.call("Network.deleteCookies", {"name": "access_token", "url": BASE + "/"})
    b.goto("/legacy/")
    try:
        b.wait_for("location.pathname === '/' && !document.getElementById('signed-in').hidden")
        renewed = b.text("#who-name") == USER
    except Timeout as e:
        renewed = e
    check("without the access cookie the login page renews the session", renewed is True,
          renewed)
    check("... and links back to the page asked for",
          b.eval("document.getElementById('open-legacy').getAttribute('href')") == "/legacy/")
    b.click("#open-legacy")
    b.wait_for("location.pathname === '/legacy/' && !!document.getElementById('h-x-auth-username')")
    check("the renewed access cookie opens /legacy/", b.text("#h-x-auth-username") == USER)

    # 6. Log out (POST with the refresh cookie, so X-CSRFToken is needed).
    b.goto("/")
    b.loaded("/")
    b.wait_for("!document.getElementById('signed-in').hidden")
    check("the login page knows the user is still signed in", b.text("#who-name") == USER)
    b.click("#logout")
    try:
        b.wait_for("!document.getElementById('signed-out').hidden")
        ok = True
    except Timeout:
        ok = False
    check("logging out shows the forms again", ok, b.text("#logout-error"))
    check("logging out reports success", b.text("#status") == "Successfully logged out.",
          b.text("#status"))
    b.goto("/legacy/")
    b.wait_for("location.pathname === '/' && document.readyState === 'complete'")
    check("after logout /legacy/ sends the browser to the login page again",
          b.eval("location.search") == "?next=%2Flegacy%2F", b.eval("location.href"))

    # 7. Logging in from that redirect returns to the page asked for.
    b.wait_for("!document.getElementById('signed-out').hidden")
    b.type_into("#login-username", EMAIL)
    b.type_into("#login-password", PASSWORD)
    b.click("#login button[type=submit]")
    try:
        b.wait_for("location.pathname === '/legacy/' && document.readyState === 'complete'"
                   " && !!document.getElementById('h-x-auth-username')", timeout=20)
        back = True
    except Timeout:
        back = False
    check("logging in (by e-mail) from ?next=/legacy/ lands on /legacy/ as demo",
          back and b.text("#h-x-auth-username") == USER, b.eval("location.href"))


def main():
    workdir = tempfile.mkdtemp(prefix="demo-flow.")
    demo = None
    browser = None

    def on_term(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    try:
        demo = Demo(workdir)
        if not check("scripts/demo starts nginx, the legacy backend and redis", demo.wait_ready(),
                     demo.output().decode(errors="replace")[-2000:]):
            return
        browser = Browser(workdir)
        try:
            browser.connect()
        except (Timeout, CDPError, OSError) as e:
            check("headless Chromium starts and answers on the DevTools pipe", False, e)
            return
        try:
            flow(browser)
        except (Timeout, CDPError) as e:
            check("the browser flow ran to the end", False, e)
            try:
                browser.screenshot("failure")
                print("# page: %s" % browser.eval("location.href"))
                print("# body: %s" % (browser.eval("document.body && document.body.innerText")
                                      or "")[:1500])
            except Exception:
                pass
    except KeyboardInterrupt:
        check("the test was not interrupted", False)
    except Exception:
        traceback.print_exc()
        check("the test ran without an internal error", False)
    finally:
        if browser is not None:
            browser.close()
            with open(browser.log_path, "rb") as f:
                if failed:
                    print("# chromium log (tail):")
                    lines = [l for l in f.read().decode(errors="replace").splitlines()
                             if "dbus" not in l]
                    for line in lines[-10:]:
                        print("#   " + line)
        if demo is not None:
            stopped = demo.interrupt()
            time.sleep(0.2)
            left = [name for name, pid in demo.pids.items() if pid_alive(pid)]
            check("Ctrl-C stops the demo: nginx, backend and redis all exit",
                  stopped and len(demo.pids) == 3 and not left,
                  "script exited: %s; pids %s; still running: %s" % (stopped, demo.pids, left))
            demo.force_stop()
            if failed:
                print("# demo output (tail):")
                for line in demo.output().decode(errors="replace").splitlines()[-15:]:
                    print("#   " + line)
                errlog = os.path.join(demo.dir, "logs", "error.log")
                if os.path.exists(errlog):
                    print("# nginx error.log (tail):")
                    with open(errlog, errors="replace") as f:
                        for line in f.read().splitlines()[-10:]:
                            print("#   " + line)
        if os.environ.get("DEMO_FLOW_KEEP"):
            print("# kept %s" % workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
    print("demo_flow: %d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed or not passed else 0)
