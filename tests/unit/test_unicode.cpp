// Unit tests for src/core/unicode.*: NFKC (ICU) as Python's
// unicodedata.normalize('NFKC', s), which Django's normalize_username()
// calls. Expected results were checked against Python 3.11 (Unicode 14).
#include <cstdarg>
#include <cstddef>
#include <csetjmp>
#include <cstdint>
#include <string>

#include "unicode.h"
#include "validation.h"

extern "C" {
#include <cmocka.h>
}

using namespace restauth;

namespace {

void expect_nfkc(const std::string &in, const std::string &want)
{
    std::string out = "junk";
    if (!nfkc_normalize(in, out)) fail_msg("nfkc_normalize refused \"%s\"", in.c_str());
    assert_int_equal(out.size(), want.size());
    assert_memory_equal(out.data(), want.data(), want.size());
    // Idempotent: the result is its own NFKC.
    std::string again;
    assert_true(nfkc_normalize(out, again));
    assert_true(again == out);
}

void expect_refused(const std::string &in)
{
    std::string out = "left over";
    if (nfkc_normalize(in, out)) fail_msg("nfkc_normalize accepted ill-formed UTF-8 (%zu bytes)", in.size());
    assert_true(out.empty());
    out = "left over";
    assert_false(normalize_username(in, out));
    assert_true(out.empty());
}

void test_ascii_unchanged(void **)
{
    expect_nfkc("", "");
    expect_nfkc("admin", "admin");
    expect_nfkc("Alice.Smith+tag@example-1_x", "Alice.Smith+tag@example-1_x");
    expect_nfkc(std::string("a\0b", 3), std::string("a\0b", 3));
}

void test_fullwidth(void **)
{
    expect_nfkc("\uFF41\uFF44\uFF4D\uFF49\uFF4E", "admin");                // ａｄｍｉｎ
    expect_nfkc("\uFF21\uFF24\uFF2D\uFF29\uFF2E", "ADMIN");                // ＡＤＭＩＮ
    expect_nfkc("\uFF42\uFF4F\uFF42\uFF20example", "bob@example");         // ｂｏｂ＠example
    expect_nfkc("\uFF11\uFF12\uFF13", "123");                              // １２３
    // Halfwidth katakana, the voiced mark composing with its base.
    expect_nfkc("\uFF76\uFF9E", "\u30AC");                                 // ｶﾞ -> ガ
    // And the index key of the fullwidth spelling is the plain one's.
    std::string n;
    assert_true(normalize_username("\uFF21\uFF24\uFF2D\uFF29\uFF2E", n));
    assert_string_equal(fold_case(n).c_str(), "admin");
}

void test_ligatures(void **)
{
    expect_nfkc("\uFB01le", "file");                                       // ﬁle
    expect_nfkc("\uFB00\uFB03", "ffffi");                                  // ﬀﬃ
    expect_nfkc("\u01C5", "D\u017E");                                      // ǅ -> Dž
    // The longest expansion in Unicode (18 code points), many times over:
    // more than twice the input's UTF-16 length.
    std::string in, want;
    const std::string salla = "\u0635\u0644\u0649 \u0627\u0644\u0644\u0647 \u0639\u0644\u064A\u0647 "
                              "\u0648\u0633\u0644\u0645";
    for (int i = 0; i < 40; i++) {
        in += "\uFDFA";
        want += salla;
    }
    expect_nfkc(in, want);
}

void test_compatibility_forms(void **)
{
    expect_nfkc("x\u00B2", "x2");          // superscript two
    expect_nfkc("\u2460", "1");            // circled digit one
    expect_nfkc("\u210C", "H");            // black-letter capital H
    expect_nfkc("\u216B", "XII");          // Roman numeral twelve
    expect_nfkc("\u338F", "kg");           // square kg
    expect_nfkc("\u017F", "s");            // long s
    expect_nfkc("\u00B5", "\u03BC");       // micro sign -> Greek mu
    expect_nfkc("\u00A0", " ");            // no-break space -> space (then refused by the validator)
    expect_nfkc("\u212B", "\u00C5");       // Angstrom sign -> A with ring (canonical)
    expect_nfkc("e\u0301", "\u00E9");      // decomposed -> composed
    // Already normalised text stays as it is.
    expect_nfkc("Jos\u00E9", "Jos\u00E9");
    expect_nfkc("\u65E5\u672C\u8A9E", "\u65E5\u672C\u8A9E");
    expect_nfkc("\xF0\x9F\x98\x80", "\xF0\x9F\x98\x80");  // U+1F600, outside the BMP
}

void test_invalid_utf8_refused(void **)
{
    expect_refused("\x80");                    // stray continuation byte
    expect_refused("adm\xC3");                 // truncated sequence at the end
    expect_refused("\xC3(x");                  // bad continuation
    expect_refused("\xC0\xAF");                // overlong '/'
    expect_refused("\xE0\x80\xAF");            // overlong, three bytes
    expect_refused("\xED\xA0\x80");            // UTF-16 surrogate D800
    expect_refused("\xF4\x90\x80\x80");        // above U+10FFFF
    expect_refused("\xFF");
    expect_refused("\uFF41\xFE\uFF42");        // valid around an invalid byte
}

} // namespace

int main()
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ascii_unchanged),
        cmocka_unit_test(test_fullwidth),
        cmocka_unit_test(test_ligatures),
        cmocka_unit_test(test_compatibility_forms),
        cmocka_unit_test(test_invalid_utf8_refused),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
