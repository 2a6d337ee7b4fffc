// Unit tests for src/validation.*: Django's password, username and e-mail
// validators and the Python string semantics behind them. Expected results
// were checked against Django 4.2's validators and Python 3.11 (difflib,
// str.lower/strip/isdigit, re's \w, the idna codec).
#include <cstdarg>
#include <cstddef>
#include <csetjmp>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <unistd.h>
#include <vector>

#include "validation.h"

extern "C" {
#include <cmocka.h>
}

using namespace restauth;

namespace {

const std::string SHORT = "This password is too short. It must contain at least 8 characters.";
const std::string COMMON = "This password is too common.";
const std::string NUMERIC = "This password is entirely numeric.";
const std::string SIMILAR_USERNAME = "The password is too similar to the username.";
const std::string SIMILAR_FIRST = "The password is too similar to the first name.";
const std::string SIMILAR_LAST = "The password is too similar to the last name.";
const std::string SIMILAR_EMAIL = "The password is too similar to the email address.";

void expect_eq(const std::string &got, const std::string &want)
{
    assert_string_equal(got.c_str(), want.c_str());
}

void expect_messages(const std::vector<std::string> &got, const std::vector<std::string> &want)
{
    std::string g, w;
    for (const auto &m : got)
        g += m + "|";
    for (const auto &m : want)
        w += m + "|";
    expect_eq(g, w);
}

std::vector<std::string> check(const char *password, const UserAttributes *user = nullptr,
                               const PasswordPolicy &policy = PasswordPolicy())
{
    return validate_password(password, user, policy);
}

/* ---- messages -------------------------------------------------------------- */

void test_messages(void **)
{
    expect_eq(password_too_short_message(8), SHORT);
    expect_eq(password_too_short_message(12), "This password is too short. It must contain at least 12 characters.");
    expect_eq(password_too_short_message(1), "This password is too short. It must contain at least 1 character.");
    expect_eq(password_too_similar_message("username"), SIMILAR_USERNAME);
    expect_eq(std::string(MSG_PASSWORD_TOO_COMMON), COMMON);
    expect_eq(std::string(MSG_PASSWORD_ENTIRELY_NUMERIC), NUMERIC);
    expect_eq(std::string(MSG_INVALID_USERNAME),
              "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.");
    expect_eq(std::string(MSG_INVALID_EMAIL), "Enter a valid email address.");
    expect_eq(max_length_message(150), "Ensure this field has no more than 150 characters.");
    expect_eq(min_length_message(2), "Ensure this field has at least 2 characters.");
}

/* ---- password validators --------------------------------------------------- */

void test_password_ok(void **)
{
    expect_messages(check("correct horse battery"), {});
    expect_messages(check("tr0ub4dor&3"), {});
}

void test_password_min_length_counts_characters(void **)
{
    expect_messages(check("Zq9!x"), {SHORT});
    expect_messages(check("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"), {SHORT}); // 7 x é, 14 bytes
    expect_messages(check("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"), {}); // 8 x é
    PasswordPolicy p;
    p.min_length = 12;
    expect_messages(check("Zq9!xZq9!xZ", nullptr, p),
                    {"This password is too short. It must contain at least 12 characters."});
    p.min_length = 1;
    p.check_common = false;
    expect_messages(check("", nullptr, p), {"This password is too short. It must contain at least 1 character."});
    p.min_length = 0;
    expect_messages(check("", nullptr, p), {});
}

void test_password_common(void **)
{
    expect_messages(check("password"), {COMMON});
    expect_messages(check("PassWord"), {COMMON});   // lower()
    expect_messages(check(" password \t"), {COMMON}); // strip()
    expect_messages(check("qwerty123"), {COMMON});
    expect_messages(check("iloveyou"), {COMMON});
    expect_messages(check("letmein1x"), {});
    PasswordPolicy off;
    off.check_common = false;
    expect_messages(check("password", nullptr, off), {});
}

void test_password_numeric(void **)
{
    expect_messages(check("83920174"), {NUMERIC});
    // str.isdigit() covers other scripts' digits and superscripts
    expect_messages(check("\xd9\xa1\xd9\xa2\xd9\xa3\xd9\xa4\xd9\xa5\xd9\xa6\xd9\xa7\xd9\xa8"), {NUMERIC}); // ١٢٣٤٥٦٧٨
    expect_messages(check("\xef\xbc\x91\xef\xbc\x92\xef\xbc\x93\xef\xbc\x94\xef\xbc\x95\xef\xbc\x96\xef\xbc\x97\xef\xbc"
                          "\x98"),
                    {NUMERIC}); // fullwidth
    expect_messages(check("8392017x"), {});
    expect_messages(check("-83920174"), {});
    expect_messages(check("8392.0174"), {});
    PasswordPolicy off;
    off.check_numeric = false;
    expect_messages(check("83920174", nullptr, off), {});
}

void test_password_all_messages_in_order(void **)
{
    UserAttributes user{"1234", "", "", ""};
    expect_messages(check("1234", &user), {SHORT, COMMON, NUMERIC, SIMILAR_USERNAME});
    expect_messages(check("12345678"), {COMMON, NUMERIC});
    expect_messages(check("123"), {SHORT, COMMON, NUMERIC});
    UserAttributes pass{"pass", "", "", ""};
    expect_messages(check("pass", &pass), {SHORT, COMMON, SIMILAR_USERNAME});
}

void test_password_similarity_examples(void **)
{
    // difflib quick_ratio: johnsmith1/johnsmith = 18/19 = 0.947
    UserAttributes john{"johnsmith", "", "", ""};
    expect_messages(check("johnsmith1", &john), {SIMILAR_USERNAME});
    expect_messages(check("JohnSmith", &john), {SIMILAR_USERNAME});
    UserAttributes smith{"smith", "", "", ""};
    expect_messages(check("xyz12345678", &smith), {}); // 0.0
    UserAttributes jsmith{"jsmith", "", "", ""};
    expect_messages(check("jsmithxx99", &jsmith), {SIMILAR_USERNAME}); // 12/16 = 0.75
    // parts split on \W+: "horse.correct" -> horse, correct, and the whole value
    UserAttributes horse{"horse.correct", "", "", ""};
    expect_messages(check("correcthorse", &horse), {SIMILAR_USERNAME});
    // no user, no similarity check
    expect_messages(check("johnsmith1", nullptr), {});
    PasswordPolicy off;
    off.check_similarity = false;
    expect_messages(check("johnsmith1", &john, off), {});
}

void test_password_similarity_attribute_order(void **)
{
    UserAttributes email_only{"ah", "", "", "alexander.hamilton@example.com"};
    expect_messages(check("alexander99", &email_only), {SIMILAR_EMAIL});
    // both the last name and the e-mail match: the last name comes first
    UserAttributes both{"zz", "Alex", "Hamilton", "alexander.hamilton@example.com"};
    expect_messages(check("hamilton2024", &both), {SIMILAR_LAST});
    UserAttributes no_last{"zz", "Alex", "", "alexander.hamilton@example.com"};
    expect_messages(check("hamilton2024", &no_last), {SIMILAR_EMAIL});
    UserAttributes first{"zz", "Bartholomew", "", ""};
    expect_messages(check("bartholomew1", &first), {SIMILAR_FIRST});
    UserAttributes neither{"", "John", "Smith", ""};
    expect_messages(check("SmithJohn!", &neither), {}); // each below 0.7 on its own
}

void test_password_similarity_unicode_lower(void **)
{
    // "ÑANDÚ999".lower() = "ñandú999": 10/13 against "ñandú" (6/13 without
    // lower-casing Ñ and Ú)
    UserAttributes u{"\xc3\x91" "and\xc3\xba", "", "", ""};
    expect_messages(check("\xc3\x91" "AND\xc3\x9a" "999", &u), {SIMILAR_USERNAME});
}

void test_password_similarity_length_ratio_and_empty_parts(void **)
{
    // Django: an empty value part is compared only with an empty password,
    // where quick_ratio("", "") is 1.0
    UserAttributes dotted{"x.", "", "", ""};
    PasswordPolicy p;
    p.min_length = 0;
    expect_messages(check("", &dotted, p), {SIMILAR_USERNAME});
    UserAttributes plain{"x", "", "", ""};
    expect_messages(check("", &plain, p), {});
    expect_messages(check("abcdefgh", &dotted), {});
    // a long password is not compared with a short part at all
    UserAttributes ab{"ab", "", "", ""};
    expect_messages(check("abababababababababab", &ab), {});
}

void test_password_max_similarity(void **)
{
    UserAttributes john{"john", "", "", ""};
    expect_messages(check("johnathan", &john), {}); // 8/13 = 0.615
    PasswordPolicy p;
    p.max_similarity = 0.6;
    expect_messages(check("johnathan", &john, p), {SIMILAR_USERNAME});
}

/* ---- common passwords --------------------------------------------------------- */

void test_builtin_common_passwords(void **)
{
    const CommonPasswords &list = CommonPasswords::builtin();
    assert_true(list.size() > 3000);
    for (const char *w : {"password", "12345678", "123456789", "qwerty123", "password1", "iloveyou", "letmein"})
        assert_true(list.contains(w));
    assert_true(list.contains("LetMeIn"));
    assert_true(list.contains("\tletmein "));
    assert_false(list.contains("letmein!x"));
    assert_false(list.contains(""));
    assert_true(&CommonPasswords::builtin() == &list);
}

std::string temp_file(const std::string &content)
{
    char path[] = "/tmp/restauth-test-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
    close(fd);
    return path;
}

void test_common_passwords_load_file(void **)
{
    std::string path = temp_file("#!comment: a header line\nHunter2\r\n\n  Sekrit \nhunter2\ncaf\xc3\x89\n");
    CommonPasswords list;
    std::string error;
    assert_true(list.load_file(path, error));
    assert_int_equal(list.size(), 3);
    assert_true(list.contains("hunter2"));
    assert_true(list.contains("HUNTER2"));
    assert_true(list.contains("sekrit"));
    assert_true(list.contains("CAF\xc3\x89")); // é / É
    assert_false(list.contains("#!comment: a header line"));
    assert_false(list.contains("password"));

    PasswordPolicy p;
    p.common = &list;
    expect_messages(check("Hunter2x", nullptr, p), {});
    expect_messages(check("sekrit  ", nullptr, p), {COMMON});

    // a failed load keeps the old contents
    assert_false(list.load_file("/nonexistent/restauth/list.txt", error));
    assert_non_null(strstr(error.c_str(), "/nonexistent/restauth/list.txt"));
    assert_true(list.contains("hunter2"));
    unlink(path.c_str());
}

/* ---- usernames ---------------------------------------------------------------- */

void test_username_valid(void **)
{
    for (const char *u : {"alice", "a.b@c+d-e_f", "User123", "_", "Jos\xc3\xa9", "\xd0\x94\xd0\xbc\xd0\xb8\xd1\x82\xd1\x80\xd0\xb8\xd0\xb9",
                          "\xe6\x9d\x8e\xe9\x9b\xb7", "\xd9\x85\xd8\xad\xd9\x85\xd8\xaf", "\xe2\x91\xa0\xc2\xaa",
                          "\xce\xb1\xce\xb2\xce\xb3"}) {
        assert_true(is_valid_username(u));
        expect_messages(validate_username(u), {});
    }
}

void test_username_invalid(void **)
{
    for (const char *u : {"", "john doe", "a/b", "a!b", "a#b", "tab\tx", "a\xc2\xa0" "b", "emoji\xf0\x9f\x98\x80",
                          "a\xe2\x80\x94" "b", "a\xc2\xb7" "b", "zero\xe2\x80\x8bwidth", "e\xcc\x81", "a,b", "a'b",
                          "\xef\xbc\x81", "a\xff"}) {
        assert_false(is_valid_username(u));
    }
    expect_messages(validate_username("john doe"), {std::string(MSG_INVALID_USERNAME)});
}

void test_username_length(void **)
{
    std::string ok(150, 'a');
    expect_messages(validate_username(ok), {});
    std::string wide;
    for (int i = 0; i < 150; ++i)
        wide += "\xc3\xa9"; // 150 characters, 300 bytes
    expect_messages(validate_username(wide), {});
    expect_messages(validate_username(ok + "a"), {max_length_message(150)});
    // registration stops at the serializer's max_length: no regex message
    expect_messages(validate_username(std::string(151, '!')), {max_length_message(150)});
    expect_messages(validate_username("abcdef", 5), {"Ensure this field has no more than 5 characters."});
}

/* ---- e-mail --------------------------------------------------------------------- */

void test_email_valid(void **)
{
    for (const char *e : {"alice@example.com", "a.b+tag@sub.example.co.uk", "o'neil@example.ie", "x@localhost",
                          "\"quoted\\ name\"@example.com", "\"a\\\"b\"@example.com", "a!#$%&'*+/=?^_`{|}~-@example.com",
                          "A@EXAMPLE.COM", "x@a.b1", "x@123.123", "x@a.-b" /* Django's TLD may start with '-' */, "x@[1.2.3.4]", "x@[::1]", "x@ex-ample.com",
                          "x@m\xc3\xbcnchen.de", "x@\xd0\xbf\xd1\x80\xd0\xb8\xd0\xbc\xd0\xb5\xd1\x80.\xd1\x80\xd1\x84",
                          "x@\xe4\xbe\x8b\xe3\x81\x88.\xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88", "x@xn--mnchen-3ya.de"}) {
        if (!is_valid_email(e))
            fail_msg("should be valid: %s", e);
    }
}

void test_email_invalid(void **)
{
    for (const char *e : {"", "plainaddress", "@example.com", "a@", "a@b@example.com", "a..b@example.com",
                          ".a@example.com", "a.@example.com", "a b@example.com", "\"a b@example.com",
                          "\xc3\xbc@example.com", "x@example", "x@LOCALHOST", "x@-ex.com", "x@ex-.com", "x@a.b",
                          "\"quoted name\"@example.com", "x@a.b-", "x@ex..com", "x@example.com.", "x@exa mple.com", "x@a_b.de",
                          "x@[01.2.3.4]", "x@[1.2.3]", "x@[IPv6:::1]", "x@1.2.3.4", "x@m\xc3\xbcnchen.de."}) {
        if (is_valid_email(e))
            fail_msg("should be invalid: %s", e);
    }
}

void test_email_lengths(void **)
{
    assert_true(is_valid_email(std::string(63, 'a') + "@" + std::string(63, 'b') + ".com"));
    assert_false(is_valid_email("x@" + std::string(64, 'b') + ".com")); // label > 63
    assert_true(is_valid_email("x@e." + std::string(63, 'c')));
    assert_false(is_valid_email("x@e." + std::string(64, 'c')));
    assert_true(is_valid_email(std::string(308, 'a') + "@example.com"));  // 320
    assert_false(is_valid_email(std::string(309, 'a') + "@example.com")); // 321
    std::string long_idn = "x@";
    for (int i = 0; i < 60; ++i)
        long_idn += "\xc3\xbc"; // punycode label longer than 63
    assert_false(is_valid_email(long_idn + ".de"));
}

void test_normalize_email(void **)
{
    expect_eq(normalize_email("  Foo.Bar@EXAMPLE.Com "), "Foo.Bar@example.com");
    expect_eq(normalize_email("a@b@EX.COM"), "a@b@ex.com");
    expect_eq(normalize_email("x@\xc3\x89XAMPLE.com"), "x@\xc3\xa9xample.com");
    expect_eq(normalize_email(" no-at-sign "), " no-at-sign "); // untouched, as Django
    expect_eq(normalize_email(""), "");
}

/* ---- Python string semantics ---------------------------------------------------- */

void test_utf8_length(void **)
{
    assert_int_equal(utf8_length(""), 0);
    assert_int_equal(utf8_length("h\xc3\xa9llo"), 5);
    assert_int_equal(utf8_length("\xf0\x9f\x98\x80"), 1);
    assert_int_equal(utf8_length("\xff\xfe"), 2);
}

void test_strip_whitespace(void **)
{
    expect_eq(std::string(strip_whitespace(" \t\r\n\x0b\x0c\x1c x y \xc2\xa0\xe3\x80\x80\xe2\x80\xa8")), "x y");
    expect_eq(std::string(strip_whitespace("\xe2\x80\x8b x")), "\xe2\x80\x8b x"); // U+200B is not whitespace
    expect_eq(std::string(strip_whitespace("   ")), "");
    expect_eq(std::string(strip_whitespace("\xff ")), "\xff");
    expect_eq(std::string(strip_whitespace(" \xc3")), "\xc3");
}

void test_fold_case(void **)
{
    expect_eq(fold_case("Hello WORLD 123"), "hello world 123");
    expect_eq(fold_case("\xc3\x80\xc3\x89\xc3\x8e\xc3\x9e\xc3\x97"), "\xc3\xa0\xc3\xa9\xc3\xae\xc3\xbe\xc3\x97"); // ÀÉÎÞ×
    expect_eq(fold_case("\xc5\xb8"), "\xc3\xbf"); // Ÿ
    expect_eq(fold_case("\xce\x91\xce\x92\xce\x93\xce\x86"), "\xce\xb1\xce\xb2\xce\xb3\xce\xac"); // ΑΒΓΆ
    expect_eq(fold_case("\xd0\x94\xd0\x9c\xd0\x81"), "\xd0\xb4\xd0\xbc\xd1\x91"); // ДМЁ
    expect_eq(fold_case("\xc4\xb0"), "i\xcc\x87");     // İ -> i + combining dot, as Python
    expect_eq(fold_case("\xe1\xba\x9e"), "\xc3\x9f");  // ẞ -> ß
    expect_eq(fold_case("\xe2\x84\xaa"), "k");         // Kelvin sign
    expect_eq(fold_case("\xc7\x85"), "\xc7\x86");      // ǅ -> ǆ
    expect_eq(fold_case("\xef\xbc\xa1"), "\xef\xbd\x81"); // fullwidth A
    expect_eq(fold_case("a\xff" "B"), "a\xff" "b");    // invalid bytes kept
}

void test_word_chars(void **)
{
    for (char32_t c : {U'a', U'Z', U'0', U'_', U'\u00e9', U'\u00aa', U'\u00b2', U'\u0436', U'\u674e', U'\u0661',
                       U'\u2460', U'\u3042', U'\uac00'})
        assert_true(is_word_char(c));
    for (char32_t c : {U' ', U'-', U'.', U'@', U'+', U'\u00a0', U'\u00b7', U'\u00d7', U'\u2014', U'\u200b',
                       U'\u0301', U'\u3001', U'\uff01', U'\U0001F600', U'\ue000'})
        assert_false(is_word_char(c));
}

void test_numeric_string(void **)
{
    assert_true(is_numeric_string("0123"));
    assert_true(is_numeric_string("\xd9\xa1\xd9\xa2"));   // Arabic-Indic
    assert_true(is_numeric_string("\xc2\xb2\xc2\xb3"));   // superscripts
    assert_true(is_numeric_string("\xe2\x91\xa0"));       // circled one
    assert_false(is_numeric_string(""));
    assert_false(is_numeric_string("12a"));
    assert_false(is_numeric_string("1.5"));
    assert_false(is_numeric_string("\xe2\x85\xa7"));      // Roman numeral eight: numeric, not a digit
    assert_false(is_numeric_string("\xc2\xbd"));          // ½
    assert_false(is_numeric_string("1\xff"));
}

void test_unicode_space(void **)
{
    for (char32_t c : {U'\t', U'\n', U'\x0b', U'\x0c', U'\r', U'\x1c', U'\x1f', U' ', U'\u0085', U'\u00a0', U'\u1680',
                       U'\u2000', U'\u200a', U'\u2028', U'\u2029', U'\u202f', U'\u205f', U'\u3000'})
        assert_true(is_unicode_space(c));
    for (char32_t c : {U'\0', U'a', U'\u200b', U'\ufeff', U'\u180e'})
        assert_false(is_unicode_space(c));
}

} // namespace

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_messages),
        cmocka_unit_test(test_password_ok),
        cmocka_unit_test(test_password_min_length_counts_characters),
        cmocka_unit_test(test_password_common),
        cmocka_unit_test(test_password_numeric),
        cmocka_unit_test(test_password_all_messages_in_order),
        cmocka_unit_test(test_password_similarity_examples),
        cmocka_unit_test(test_password_similarity_attribute_order),
        cmocka_unit_test(test_password_similarity_unicode_lower),
        cmocka_unit_test(test_password_similarity_length_ratio_and_empty_parts),
        cmocka_unit_test(test_password_max_similarity),
        cmocka_unit_test(test_builtin_common_passwords),
        cmocka_unit_test(test_common_passwords_load_file),
        cmocka_unit_test(test_username_valid),
        cmocka_unit_test(test_username_invalid),
        cmocka_unit_test(test_username_length),
        cmocka_unit_test(test_email_valid),
        cmocka_unit_test(test_email_invalid),
        cmocka_unit_test(test_email_lengths),
        cmocka_unit_test(test_normalize_email),
        cmocka_unit_test(test_utf8_length),
        cmocka_unit_test(test_strip_whitespace),
        cmocka_unit_test(test_fold_case),
        cmocka_unit_test(test_word_chars),
        cmocka_unit_test(test_numeric_string),
        cmocka_unit_test(test_unicode_space),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
