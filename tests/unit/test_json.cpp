// Unit tests for src/json.*: escaping, the writer, DRF error shapes, UTF-8.
#include <cstdarg>
#include <cstddef>
#include <csetjmp>
#include <cstdint>
#include <string>
#include <vector>

#include "json.h"

extern "C" {
#include <cmocka.h>
}

using namespace restauth;

namespace {

void expect_eq(const std::string &got, const std::string &want)
{
    assert_string_equal(got.c_str(), want.c_str());
}

void test_string_plain_and_quotes(void **)
{
    expect_eq(json_string(""), "\"\"");
    expect_eq(json_string("abc"), "\"abc\"");
    expect_eq(json_string("say \"hi\""), "\"say \\\"hi\\\"\"");
    expect_eq(json_string("a\\b"), "\"a\\\\b\"");
    expect_eq(json_string("a/b"), "\"a/b\""); // '/' is not escaped (as Python)
}

void test_string_control_characters(void **)
{
    expect_eq(json_string("\b\f\n\r\t"), "\"\\b\\f\\n\\r\\t\"");
    expect_eq(json_string(std::string("\x00\x01\x1f", 3)), "\"\\u0000\\u0001\\u001f\"");
    expect_eq(json_string("\x0b"), "\"\\u000b\""); // lower-case hex, as Python
    expect_eq(json_string("\x7f"), "\"\x7f\""); // DEL is passed through
}

void test_string_non_ascii_passed_through(void **)
{
    expect_eq(json_string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
    // U+2019 (the apostrophe in "didn’t") stays as it is
    expect_eq(json_string("didn\xe2\x80\x99t"), "\"didn\xe2\x80\x99t\"");
}

void test_string_escapes_line_separators_as_drf(void **)
{
    expect_eq(json_string("a\xe2\x80\xa8" "b\xe2\x80\xa9" "c"), "\"a\\u2028b\\u2029c\"");
}

void test_string_invalid_utf8_replaced(void **)
{
    const std::string fffd = "\xef\xbf\xbd";
    expect_eq(json_string("a\xff" "b"), "\"a" + fffd + "b\"");
    expect_eq(json_string("\xc3"), "\"" + fffd + "\""); // truncated
    expect_eq(json_string("\xe2\x82" "x"), "\"" + fffd + "x\""); // one U+FFFD per broken sequence
    expect_eq(json_string("\xed\xa0\x80"), "\"" + fffd + fffd + fffd + "\""); // surrogate
    expect_eq(json_string("\xc0\xaf"), "\"" + fffd + fffd + "\""); // overlong
}

void test_append_string(void **)
{
    std::string out = "x=";
    json_append_string(out, "y\n");
    expect_eq(out, "x=\"y\\n\"");
}

void test_writer_object(void **)
{
    JsonWriter w;
    w.begin_object()
        .key("pk").number(1)
        .key("username").string("alice")
        .key("active").boolean(true)
        .key("staff").boolean(false)
        .key("name").null()
        .key("raw").raw("[1, 2]")
        .end_object();
    expect_eq(w.str(), R"({"pk": 1, "username": "alice", "active": true, "staff": false, "name": null, "raw": [1, 2]})");
}

void test_writer_nested_and_empty(void **)
{
    JsonWriter w;
    w.begin_object()
        .key("keys").begin_array().end_array()
        .key("o").begin_object().end_object()
        .key("list").begin_array()
            .begin_object().key("a").number(-5).end_object()
            .begin_object().key("b").begin_array().string("x").string("y").end_array().end_object()
            .number(9223372036854775807LL)
        .end_array()
        .end_object();
    expect_eq(w.take(), R"({"keys": [], "o": {}, "list": [{"a": -5}, {"b": ["x", "y"]}, 9223372036854775807]})");
}

void test_writer_top_level_values(void **)
{
    JsonWriter a;
    a.begin_object().end_object();
    expect_eq(a.str(), "{}");
    JsonWriter b;
    b.string("x\"");
    expect_eq(b.str(), "\"x\\\"\"");
    JsonWriter c;
    c.begin_array().number(1).number(2).end_array();
    expect_eq(c.str(), "[1, 2]");
}

void test_writer_escapes_keys(void **)
{
    JsonWriter w;
    w.begin_object().key("a\"b\n").string("v").end_object();
    expect_eq(w.str(), R"({"a\"b\n": "v"})");
}

void test_detail(void **)
{
    expect_eq(json_detail("Not found."), R"({"detail": "Not found."})");
    expect_eq(json_detail("Method \"GET\" not allowed."), R"({"detail": "Method \"GET\" not allowed."})");
}

void test_field_error(void **)
{
    expect_eq(json_field_error("password", "This field is required."), R"({"password": ["This field is required."]})");
    expect_eq(json_field_error(NON_FIELD_ERRORS, "No data provided"), R"({"non_field_errors": ["No data provided"]})");
}

void test_field_errors_group_and_order(void **)
{
    FieldErrors e;
    assert_true(e.empty());
    expect_eq(e.to_json(), "{}");
    e.add("username", "u1");
    e.add("password1", "p1");
    e.add("username", "u2"); // grouped with u1; username stays first
    e.add("email", "e1");
    e.add("password1", std::vector<std::string>{"p2", "p3"});
    assert_false(e.empty());
    assert_true(e.has("username"));
    assert_true(e.has("email"));
    assert_false(e.has("password2"));
    assert_false(e.has("user"));
    expect_eq(e.to_json(), R"({"username": ["u1", "u2"], "password1": ["p1", "p2", "p3"], "email": ["e1"]})");
}

void test_field_errors_empty_list_adds_nothing(void **)
{
    FieldErrors e;
    e.add("x", std::vector<std::string>{});
    assert_true(e.empty());
    assert_false(e.has("x"));
}

void test_field_errors_escape_messages(void **)
{
    FieldErrors e;
    e.add(NON_FIELD_ERRORS, "Must include either \"username\" or \"email\" and \"password\".");
    e.add("new_password2", "The two password fields didn\xe2\x80\x99t match.");
    expect_eq(e.to_json(), "{\"non_field_errors\": [\"Must include either \\\"username\\\" or \\\"email\\\" and "
                           "\\\"password\\\".\"], \"new_password2\": [\"The two password fields didn\xe2\x80\x99t "
                           "match.\"]}");
}

void test_json_ptr_parse_and_print(void **)
{
    JsonPtr doc = json_parse(R"( { "a" : [1, 2.5, "x"], "b": null } )");
    assert_non_null(doc.get());
    expect_eq(json_print(doc.get()), R"({"a":[1,2.5,"x"],"b":null})");
    assert_null(json_parse("{").get());
    assert_null(json_parse("").get());
    expect_eq(json_print(nullptr), "");
    // the length is honoured: trailing bytes outside the view are not read
    std::string text = "[1]garbage";
    JsonPtr arr = json_parse(std::string_view(text).substr(0, 3));
    assert_non_null(arr.get());
    expect_eq(json_print(arr.get()), "[1]");
}

Utf8Error decode_one(const std::string &s, std::size_t &pos, char32_t &cp)
{
    pos = 0;
    return utf8_decode(s, pos, cp);
}

void test_utf8_decode_valid(void **)
{
    std::size_t pos;
    char32_t cp;
    assert_int_equal(decode_one("A", pos, cp), Utf8Error::None);
    assert_int_equal(cp, 'A');
    assert_int_equal(pos, 1);
    assert_int_equal(decode_one("\xc3\xa9", pos, cp), Utf8Error::None);
    assert_int_equal(cp, 0xE9);
    assert_int_equal(pos, 2);
    assert_int_equal(decode_one("\xe2\x82\xac", pos, cp), Utf8Error::None);
    assert_int_equal(cp, 0x20AC);
    assert_int_equal(pos, 3);
    assert_int_equal(decode_one("\xf0\x9f\x98\x80", pos, cp), Utf8Error::None);
    assert_int_equal(cp, 0x1F600);
    assert_int_equal(pos, 4);
    assert_int_equal(decode_one("\xf4\x8f\xbf\xbf", pos, cp), Utf8Error::None);
    assert_int_equal(cp, 0x10FFFF);
    assert_int_equal(decode_one("\xee\x80\x80", pos, cp), Utf8Error::None); // private use is valid UTF-8
    assert_int_equal(cp, 0xE000);
}

// The spans match Python's UnicodeDecodeError start/end.
void test_utf8_decode_errors(void **)
{
    std::size_t pos;
    char32_t cp;
    assert_int_equal(decode_one("\x80", pos, cp), Utf8Error::InvalidStart);
    assert_int_equal(pos, 1);
    assert_int_equal(decode_one("\xc0\xaf", pos, cp), Utf8Error::InvalidStart); // overlong lead
    assert_int_equal(pos, 1);
    assert_int_equal(decode_one("\xff", pos, cp), Utf8Error::InvalidStart);
    assert_int_equal(decode_one("\xf5\x80\x80\x80", pos, cp), Utf8Error::InvalidStart);
    assert_int_equal(decode_one("\xe4x", pos, cp), Utf8Error::InvalidContinuation);
    assert_int_equal(pos, 1);
    assert_int_equal(decode_one("\xe4\xb8x", pos, cp), Utf8Error::InvalidContinuation);
    assert_int_equal(pos, 2);
    assert_int_equal(decode_one("\xe0\x80\x80", pos, cp), Utf8Error::InvalidContinuation); // overlong
    assert_int_equal(pos, 1);
    assert_int_equal(decode_one("\xed\xa0\x80", pos, cp), Utf8Error::InvalidContinuation); // surrogate
    assert_int_equal(pos, 1);
    assert_int_equal(decode_one("\xf0\x8f\xbf\xbf", pos, cp), Utf8Error::InvalidContinuation); // overlong
    assert_int_equal(decode_one("\xf4\x90\x80\x80", pos, cp), Utf8Error::InvalidContinuation); // > U+10FFFF
    assert_int_equal(pos, 1);
    assert_int_equal(decode_one("\xf0\x9f\x98x", pos, cp), Utf8Error::InvalidContinuation);
    assert_int_equal(pos, 3);
    assert_int_equal(decode_one("\xf0", pos, cp), Utf8Error::Truncated);
    assert_int_equal(pos, 1);
    assert_int_equal(decode_one("\xf0\x9f\x98", pos, cp), Utf8Error::Truncated);
    assert_int_equal(pos, 3);
}

void test_utf8_append_round_trip(void **)
{
    const char32_t cps[] = {0, 0x41, 0x7F, 0x80, 0x7FF, 0x800, 0xFFFD, 0xFFFF, 0x10000, 0x10FFFF};
    for (char32_t want : cps) {
        std::string s;
        utf8_append(s, want);
        std::size_t pos = 0;
        char32_t got = 0;
        assert_int_equal(utf8_decode(s, pos, got), Utf8Error::None);
        assert_int_equal(got, want);
        assert_int_equal(pos, s.size());
    }
    std::string s;
    utf8_append(s, 0xE9);
    expect_eq(s, "\xc3\xa9");
}

} // namespace

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_string_plain_and_quotes),
        cmocka_unit_test(test_string_control_characters),
        cmocka_unit_test(test_string_non_ascii_passed_through),
        cmocka_unit_test(test_string_escapes_line_separators_as_drf),
        cmocka_unit_test(test_string_invalid_utf8_replaced),
        cmocka_unit_test(test_append_string),
        cmocka_unit_test(test_writer_object),
        cmocka_unit_test(test_writer_nested_and_empty),
        cmocka_unit_test(test_writer_top_level_values),
        cmocka_unit_test(test_writer_escapes_keys),
        cmocka_unit_test(test_detail),
        cmocka_unit_test(test_field_error),
        cmocka_unit_test(test_field_errors_group_and_order),
        cmocka_unit_test(test_field_errors_empty_list_adds_nothing),
        cmocka_unit_test(test_field_errors_escape_messages),
        cmocka_unit_test(test_json_ptr_parse_and_print),
        cmocka_unit_test(test_utf8_decode_valid),
        cmocka_unit_test(test_utf8_decode_errors),
        cmocka_unit_test(test_utf8_append_round_trip),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
