// constant_time_equal (src/core/crypto.h) really is constant-time: run under
// valgrind's memcheck (make test-ct), with the bytes being compared marked
// "undefined".  memcheck then reports every branch (and every memcmp) whose
// outcome depends on them -- exactly what an early-exit compare does -- while
// the lengths, which may leak, stay defined.  This is the "ctgrind" method:
// it checks the code's shape, not its speed, so a busy machine cannot make
// it flaky.
//
// The results are marked defined again before they are checked, so the
// checks themselves do not trip memcheck.  Run outside valgrind, the test
// refuses to pass: it would prove nothing.
#include <cstdio>
#include <cstring>
#include <string>

#include <valgrind/memcheck.h>
#include <valgrind/valgrind.h>

#include "crypto.h"
#include "tokens.h"

namespace {

int failures = 0;
int checks = 0;

void expect(bool got, bool want, const char *what, size_t la, size_t lb)
{
    checks++;
    if (got != want) {
        failures++;
        std::printf("FAIL: %s (lengths %zu, %zu): got %d, want %d\n", what, la, lb, got, want);
    }
}

// Compares a and b with their contents secret; returns the (public) result.
bool secret_compare(std::string a, std::string b)
{
    VALGRIND_MAKE_MEM_UNDEFINED(a.data(), a.size());
    VALGRIND_MAKE_MEM_UNDEFINED(b.data(), b.size());
    bool r = restauth::constant_time_equal(a, b);
    VALGRIND_MAKE_MEM_DEFINED(&r, sizeof r);
    return r;
}

// csrf_token_bound with the presented MAC half secret: the expected MAC,
// computed under the server's key, must be compared without a branch on
// either.  The nonce half and the length are public.
bool secret_csrf_check(const std::string &key, const std::string &sid, std::string token)
{
    if (token.size() > 32) VALGRIND_MAKE_MEM_UNDEFINED(token.data() + 32, token.size() - 32);
    bool r = restauth::csrf_token_bound(key, sid, token);
    VALGRIND_MAKE_MEM_DEFINED(&r, sizeof r);
    return r;
}

}  // namespace

int main()
{
    if (!RUNNING_ON_VALGRIND) {
        std::printf("test_constant_time: must run under valgrind (make test-ct)\n");
        return 1;
    }
    for (size_t n : {1u, 2u, 16u, 31u, 32u, 33u, 64u, 100u}) {
        std::string a(n, '\0');
        for (size_t i = 0; i < n; i++) a[i] = static_cast<char>('a' + i % 26);

        expect(secret_compare(a, a), true, "equal", n, n);
        std::string first = a, last = a;
        first[0] ^= 1;
        last[n - 1] ^= 0x80;
        expect(secret_compare(a, first), false, "differ in the first byte", n, n);
        expect(secret_compare(a, last), false, "differ in the last byte", n, n);
        // A prefix: equal as far as it goes, and the lengths differ.
        expect(secret_compare(a, a.substr(0, n - 1)), false, "proper prefix", n, n - 1);
        expect(secret_compare(a.substr(0, n - 1), a), false, "proper prefix, swapped", n - 1, n);
    }
    expect(secret_compare("", ""), true, "both empty", 0, 0);
    expect(secret_compare("", "x"), false, "one empty", 0, 1);

    const std::string key(32, 'K');
    std::string token = restauth::csrf_token(key, "s1");
    std::string wrong = token;
    wrong[40] = wrong[40] == '0' ? '1' : '0';
    expect(secret_csrf_check(key, "s1", token), true, "csrf token of the session", 64, 64);
    expect(secret_csrf_check(key, "s1", wrong), false, "csrf token with another MAC", 64, 64);
    expect(secret_csrf_check(key, "s2", token), false, "csrf token of another session", 64, 64);

    std::printf("constant_time_equal: %d checks, %d failed\n", checks, failures);
    // memcheck's own reports (a branch on secret bytes) make valgrind exit
    // with --error-exitcode; the result checks are this exit status.
    return failures == 0 ? 0 : 1;
}
