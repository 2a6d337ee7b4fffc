// Unit tests for src/body.*: request bodies as DRF's parsers read them, and
// DRF's CharField/BooleanField rules. Expected JSON error reasons were taken
// from Python 3.11's json module and utf-8 codec.
#include <cstdarg>
#include <cstddef>
#include <csetjmp>
#include <cstdint>
#include <string>

#include "body.h"

extern "C" {
#include <cmocka.h>
}

using namespace restauth;

namespace {

const char *const JSON = "application/json";
const char *const FORM = "application/x-www-form-urlencoded";

void expect_eq(const std::string &got, const std::string &want)
{
    assert_string_equal(got.c_str(), want.c_str());
}

BodyResult parse(std::string_view type, std::string_view body, Fields &f, std::size_t max = DEFAULT_MAX_FIELDS)
{
    f.clear();
    return parse_body(type, body, f, max);
}

// The body must be rejected with `status` and exactly `json`.
void expect_error(std::string_view type, std::string_view body, int status, const std::string &json)
{
    Fields f;
    BodyResult r = parse(type, body, f);
    assert_int_equal(r.status, status);
    expect_eq(r.error_json, json);
}

void expect_json_parse_error(std::string_view body, const std::string &reason)
{
    expect_error(JSON, body, 400, "{\"detail\": \"JSON parse error - " + reason + "\"}");
}

const FieldValue &field(const Fields &f, const std::string &name)
{
    auto it = f.find(name);
    if (it == f.end())
        fail_msg("missing field %s", name.c_str());
    return it->second;
}

void expect_text(const Fields &f, const std::string &name, const std::string &value)
{
    const FieldValue &v = field(f, name);
    assert_int_equal(v.kind, FieldValue::Kind::String);
    assert_int_equal(v.text.size(), value.size());
    assert_memory_equal(v.text.data(), value.data(), value.size());
}

/* ---- content types ------------------------------------------------------ */

void test_empty_body_is_ok_for_any_type(void **)
{
    Fields f;
    for (const char *type : {"", JSON, FORM, "multipart/form-data", "text/plain", "garbage"}) {
        BodyResult r = parse(type, "", f);
        assert_int_equal(r.status, 0);
        assert_true(f.empty());
    }
    assert_false(parse(JSON, "", f).form);
    assert_false(parse("", "", f).form);
    assert_true(parse(FORM, "", f).form);
    assert_true(parse("multipart/form-data", "", f).form);
}

void test_unsupported_media_type(void **)
{
    expect_error("", "x", 415, R"({"detail": "Unsupported media type \"\" in request."})");
    expect_error("text/plain", "{}", 415, R"({"detail": "Unsupported media type \"text/plain\" in request."})");
    // the whole header is quoted, parameters included, as DRF does
    expect_error("text/plain; charset=utf-8", "x", 415,
                 R"({"detail": "Unsupported media type \"text/plain; charset=utf-8\" in request."})");
    expect_error("application/vnd.api+json", "{}", 415,
                 R"({"detail": "Unsupported media type \"application/vnd.api+json\" in request."})");
    expect_error("application/json-patch", "{}", 415,
                 R"({"detail": "Unsupported media type \"application/json-patch\" in request."})");
    // control characters dropped, quotes and backslashes escaped
    expect_error("text/\"x\"\\\r\n\tevil\x01", "x", 415,
                 R"({"detail": "Unsupported media type \"text/\"x\"\\evil\" in request."})");
}

void test_media_type_matching(void **)
{
    Fields f;
    assert_int_equal(parse("Application/JSON", "{\"a\": 1}", f).status, 0); // case-insensitive
    assert_int_equal(parse(" application/json ; charset=utf-8", "{\"a\": 1}", f).status, 0);
    assert_int_equal(parse("application/json;charset=latin-1", "{\"a\": 1}", f).status, 0); // charset ignored
    // "*" selects the first parser that matches, as DRF
    assert_int_equal(parse("*/*", "{\"a\": 1}", f).status, 0);
    assert_int_equal(f.size(), 1);
    assert_int_equal(parse("application/*", "{\"a\": 1}", f).status, 0);
    assert_int_equal(f.size(), 1);
    expect_error("multipart/*", "x", 400,
                 R"({"detail": "Multipart form parse error - Invalid boundary in multipart: None"})");
    BodyResult r = parse("application/x-www-form-urlencoded; charset=UTF-8", "a=1", f);
    assert_int_equal(r.status, 0);
    assert_true(r.form);
    expect_text(f, "a", "1");
}

/* ---- JSON ------------------------------------------------------------------ */

void test_json_object_fields(void **)
{
    Fields f;
    BodyResult r = parse(JSON,
                         R"({"username": "alice", "n": 1.50, "i": -0, "b": true, "c": false, "z": null,)"
                         R"( "l": [1, {"a": []}], "o": {"k": "v"}, "e": 1E5, "s": "a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00"})",
                         f);
    assert_int_equal(r.status, 0);
    assert_false(r.form);
    assert_int_equal(f.size(), 10);
    expect_text(f, "username", "alice");
    assert_int_equal(field(f, "n").kind, FieldValue::Kind::Number);
    expect_eq(field(f, "n").text, "1.50");
    expect_eq(field(f, "i").text, "-0");
    expect_eq(field(f, "e").text, "1E5");
    assert_int_equal(field(f, "b").kind, FieldValue::Kind::Bool);
    assert_true(field(f, "b").boolean);
    assert_false(field(f, "c").boolean);
    assert_int_equal(field(f, "z").kind, FieldValue::Kind::Null);
    assert_int_equal(field(f, "l").kind, FieldValue::Kind::Other);
    expect_eq(field(f, "l").text, R"([1, {"a": []}])");
    assert_int_equal(field(f, "o").kind, FieldValue::Kind::Other);
    expect_eq(field(f, "o").text, R"({"k": "v"})");
    expect_text(f, "s", "a\"\\/\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80");
}

void test_json_whitespace_and_unicode(void **)
{
    Fields f;
    BodyResult r = parse(JSON, " \t\r\n{ \"caf\xc3\xa9\" :\n\"\xe2\x82\xac\" } \n", f);
    assert_int_equal(r.status, 0);
    expect_text(f, "caf\xc3\xa9", "\xe2\x82\xac");
    assert_int_equal(parse(JSON, "{}", f).status, 0);
    assert_true(f.empty());
}

void test_json_duplicate_keys_last_wins(void **)
{
    Fields f;
    assert_int_equal(parse(JSON, R"({"a": "1", "b": 2, "a": "3"})", f).status, 0);
    assert_int_equal(f.size(), 2);
    expect_text(f, "a", "3");
}

void test_json_nul_is_kept_for_the_field_check(void **)
{
    Fields f;
    assert_int_equal(parse(JSON, R"({"password": "ab\u0000cd", "k\u0000": 1})", f).status, 0);
    expect_text(f, "password", std::string("ab\0cd", 5));
    assert_int_equal(f.count(std::string("k\0", 2)), 1);
    std::string out;
    assert_int_equal(get_char_field(f, "password", out), FieldState::NullCharacters);
    assert_int_equal(out.size(), 5);
}

void test_json_not_an_object(void **)
{
    auto expect_type = [](const char *body, const char *type) {
        expect_error(JSON, body, 400,
                     std::string(R"({"non_field_errors": ["Invalid data. Expected a dictionary, but got )") + type +
                         ".\"]}");
    };
    expect_type("[]", "list");
    expect_type("[1, 2]", "list");
    expect_type("\"x\"", "str");
    expect_type("12", "int");
    expect_type("-0", "int");
    expect_type("1.5", "float");
    expect_type("1e5", "float");
    expect_type("true", "bool");
    expect_type(" false ", "bool");
    // DRF's Serializer.errors turns the null case into "No data provided"
    expect_error(JSON, "null", 400, R"({"non_field_errors": ["No data provided"]})");
}

void test_json_syntax_errors_as_python(void **)
{
    expect_json_parse_error(" ", "Expecting value: line 1 column 2 (char 1)");
    expect_json_parse_error("{", "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)");
    expect_json_parse_error("{\"a\":1,}",
                            "Expecting property name enclosed in double quotes: line 1 column 8 (char 7)");
    expect_json_parse_error("{1:2}", "Expecting property name enclosed in double quotes: line 1 column 2 (char 1)");
    expect_json_parse_error("[1,]", "Expecting value: line 1 column 4 (char 3)");
    expect_json_parse_error("[", "Expecting value: line 1 column 2 (char 1)");
    expect_json_parse_error("{\"a\" 1}", "Expecting ':' delimiter: line 1 column 6 (char 5)");
    expect_json_parse_error("{\"a\":1 \"b\":2}", "Expecting ',' delimiter: line 1 column 8 (char 7)");
    expect_json_parse_error("01", "Extra data: line 1 column 2 (char 1)");
    expect_json_parse_error("1.", "Extra data: line 1 column 2 (char 1)");
    expect_json_parse_error("nul", "Expecting value: line 1 column 1 (char 0)");
    expect_json_parse_error("{\"a\": tru}", "Expecting value: line 1 column 7 (char 6)");
    expect_json_parse_error("{\"a\": 1e}", "Expecting ',' delimiter: line 1 column 8 (char 7)");
    expect_json_parse_error("{\"a\": -}", "Expecting value: line 1 column 7 (char 6)");
    expect_json_parse_error("{\"a\":1}\n\n x", "Extra data: line 3 column 2 (char 10)");
    expect_json_parse_error("{\n  \"a\": 1,\n  \"b\": }", "Expecting value: line 3 column 8 (char 19)");
}

void test_json_string_errors_as_python(void **)
{
    expect_json_parse_error("\"abc", "Unterminated string starting at: line 1 column 1 (char 0)");
    expect_json_parse_error("{\"a\": \"abc\\", "Unterminated string starting at: line 1 column 7 (char 6)");
    expect_json_parse_error("\"a\\x\"", "Invalid \\\\escape: line 1 column 3 (char 2)");
    expect_json_parse_error("\"\\u12\"", "Invalid \\\\uXXXX escape: line 1 column 3 (char 2)");
    expect_json_parse_error("\"\\u12zz\"", "Invalid \\\\uXXXX escape: line 1 column 3 (char 2)");
    expect_json_parse_error("\"\\ud800\\u12\"", "Invalid \\\\uXXXX escape: line 1 column 9 (char 8)");
    expect_json_parse_error("{\"a\":\"x\n\"}", "Invalid control character at: line 1 column 8 (char 7)");
    expect_json_parse_error("{\"a\": \"\t\"}", "Invalid control character at: line 1 column 8 (char 7)");
}

void test_json_positions_count_characters(void **)
{
    // "é€" is two characters (five bytes): Python reports char 7, not 10
    expect_json_parse_error("{\"\xc3\xa9\xe2\x82\xac\": x}", "Expecting value: line 1 column 8 (char 7)");
}

void test_json_constants_rejected_as_drf(void **)
{
    expect_json_parse_error("NaN", "Out of range float values are not JSON compliant: 'NaN'");
    expect_json_parse_error("{\"a\": Infinity}", "Out of range float values are not JSON compliant: 'Infinity'");
    expect_json_parse_error("[-Infinity]", "Out of range float values are not JSON compliant: '-Infinity'");
}

void test_json_integer_digit_limit(void **)
{
    Fields f;
    std::string ok = "{\"a\": -" + std::string(4300, '7') + "}";
    assert_int_equal(parse(JSON, ok, f).status, 0);
    std::string big = "{\"a\": -" + std::string(4301, '7') + "}";
    expect_json_parse_error(big, "Exceeds the limit (4300 digits) for integer string conversion: value has 4301 "
                                 "digits; use sys.set_int_max_str_digits() to increase the limit");
    // floats have no such limit
    std::string flt = "{\"a\": " + std::string(5000, '7') + ".5}";
    assert_int_equal(parse(JSON, flt, f).status, 0);
}

void test_json_invalid_utf8_as_python(void **)
{
    expect_json_parse_error("\xff", "'utf-8' codec can't decode byte 0xff in position 0: invalid start byte");
    expect_json_parse_error("{\"a\":\"\xe4\xb8x\"}",
                            "'utf-8' codec can't decode bytes in position 6-7: invalid continuation byte");
    expect_json_parse_error("{\"a\":\"\xf0\x9f\x98",
                            "'utf-8' codec can't decode bytes in position 6-8: unexpected end of data");
    expect_json_parse_error("{\"a\":\"\xed\xa0\x80\"}", // an encoded surrogate
                            "'utf-8' codec can't decode byte 0xed in position 6: invalid continuation byte");
    expect_json_parse_error("{\"a\":\"\xc0\xaf\"}", // overlong '/'
                            "'utf-8' codec can't decode byte 0xc0 in position 6: invalid start byte");
    expect_json_parse_error("\xef\xbb\xbf{}",
                            "Unexpected UTF-8 BOM (decode using utf-8-sig): line 1 column 1 (char 0)");
}

void test_json_lone_surrogates_rejected(void **)
{
    expect_json_parse_error("{\"a\": \"\\ud800\"}",
                            "Unpaired surrogate in \\\\uXXXX escape: line 1 column 9 (char 8)");
    expect_json_parse_error("{\"a\": \"\\udc00x\"}",
                            "Unpaired surrogate in \\\\uXXXX escape: line 1 column 9 (char 8)");
    expect_json_parse_error("{\"a\": \"\\ud800\\u0041\"}",
                            "Unpaired surrogate in \\\\uXXXX escape: line 1 column 9 (char 8)");
    // Python accepts lone surrogates, so its own errors come first
    expect_json_parse_error("{\"a\": \"\\ud800\", }",
                            "Expecting property name enclosed in double quotes: line 1 column 17 (char 16)");
    Fields f;
    assert_int_equal(parse(JSON, R"({"a": "\uD83D\uDE00"})", f).status, 0);
    expect_text(f, "a", "\xf0\x9f\x98\x80");
}

std::string nested(std::size_t depth)
{
    // an object at the top, then arrays: `depth` containers in all
    return "{\"a\": " + std::string(depth - 1, '[') + std::string(depth - 1, ']') + "}";
}

void test_json_nesting_limit(void **)
{
    Fields f;
    assert_int_equal(parse(JSON, nested(MAX_JSON_DEPTH), f).status, 0);
    assert_int_equal(field(f, "a").kind, FieldValue::Kind::Other);
    expect_json_parse_error(nested(MAX_JSON_DEPTH + 1), "Maximum nesting depth (32) exceeded: line 1 column 38 (char 37)");
    // deep nesting far beyond cJSON's or Python's limits fails cleanly too
    expect_json_parse_error(std::string(100000, '['), "Maximum nesting depth (32) exceeded: line 1 column 33 (char 32)");
    std::string objects;
    for (int i = 0; i < 40; ++i)
        objects += "{\"a\":";
    expect_json_parse_error(objects, "Maximum nesting depth (32) exceeded: line 1 column 161 (char 160)");
}

void test_json_too_many_fields(void **)
{
    Fields f;
    std::string body = "{";
    for (int i = 0; i < 5; ++i)
        body += std::string(i ? ", " : "") + "\"k" + std::to_string(i) + "\": " + std::to_string(i);
    body += "}";
    assert_int_equal(parse(JSON, body, f, 5).status, 0);
    BodyResult r = parse(JSON, body, f, 4);
    assert_int_equal(r.status, 413);
    expect_eq(r.error_json, R"({"detail": "Too many fields in request body."})");
    // nested members do not count
    assert_int_equal(parse(JSON, R"({"a": {"b": 1, "c": 2, "d": 3}})", f, 1).status, 0);
}

/* ---- application/x-www-form-urlencoded ------------------------------------ */

void test_form_basic(void **)
{
    Fields f;
    BodyResult r = parse(FORM, "username=alice&password=s3cr%3Dt+x&email=a%40b.example", f);
    assert_int_equal(r.status, 0);
    assert_true(r.form);
    assert_int_equal(f.size(), 3);
    expect_text(f, "username", "alice");
    expect_text(f, "password", "s3cr=t x");
    expect_text(f, "email", "a@b.example");
}

void test_form_decoding_edge_cases(void **)
{
    Fields f;
    assert_int_equal(parse(FORM, "a=%zz&b=100%&c=%4&d=%%41&e=a+b%2Bc&f%2B+x=1&g=x=y", f).status, 0);
    expect_text(f, "a", "%zz"); // malformed escapes stay as they are
    expect_text(f, "b", "100%");
    expect_text(f, "c", "%4");
    expect_text(f, "d", "%A");
    expect_text(f, "e", "a b+c");
    expect_text(f, "f+ x", "1"); // names are decoded too
    expect_text(f, "g", "x=y");  // split at the first '='
}

void test_form_blank_and_empty_pairs(void **)
{
    Fields f;
    assert_int_equal(parse(FORM, "&&a&b=&=c&", f).status, 0);
    assert_int_equal(f.size(), 3);
    expect_text(f, "a", ""); // no '=': a blank value
    expect_text(f, "b", "");
    expect_text(f, "", "c");
}

void test_form_repeated_key_last_wins(void **)
{
    Fields f;
    assert_int_equal(parse(FORM, "a=1&a=2&b=x&a=3", f).status, 0);
    expect_text(f, "a", "3");
}

void test_form_utf8(void **)
{
    Fields f;
    assert_int_equal(parse(FORM, "n=%C3%A9t%C3%A9&m=\xc3\xa9&z=%00", f).status, 0);
    expect_text(f, "n", "\xc3\xa9t\xc3\xa9");
    expect_text(f, "m", "\xc3\xa9");
    expect_text(f, "z", std::string(1, '\0'));
    const std::string err = R"({"detail": "Form parse error - Invalid UTF-8 in field name or value"})";
    expect_error(FORM, "a=%FF", 400, err);
    expect_error(FORM, "a=%C3", 400, err);
    expect_error(FORM, "%ED%A0%80=1", 400, err);
    expect_error(FORM, "a=\xff", 400, err);
}

void test_form_too_many_fields(void **)
{
    Fields f;
    assert_int_equal(parse(FORM, "a=1&b=2&&c=3&", f, 3).status, 0);
    BodyResult r = parse(FORM, "a=1&b=2&c=3&d=4", f, 3);
    assert_int_equal(r.status, 413);
    expect_eq(r.error_json, R"({"detail": "Too many fields in request body."})");
}

/* ---- multipart/form-data ----------------------------------------------------- */

const char *const MP = "multipart/form-data; boundary=XyZ";

std::string part(const std::string &headers, const std::string &content)
{
    return "--XyZ\r\n" + headers + "\r\n\r\n" + content + "\r\n";
}

std::string named(const std::string &name, const std::string &content)
{
    return part("Content-Disposition: form-data; name=\"" + name + "\"", content);
}

const std::string END = "--XyZ--\r\n";

void test_multipart_basic(void **)
{
    Fields f;
    std::string body = named("username", "alice") + named("password", "p\r\nw --XyZ") + END;
    BodyResult r = parse(MP, body, f);
    assert_int_equal(r.status, 0);
    assert_true(r.form);
    assert_int_equal(f.size(), 2);
    expect_text(f, "username", "alice");
    expect_text(f, "password", "p\r\nw --XyZ"); // only CRLF--boundary delimits
}

void test_multipart_preamble_epilogue_padding(void **)
{
    Fields f;
    std::string body = "This is the preamble.\r\n--XyZ \t\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n"
                       "--XyZ\r\ncontent-disposition:form-data;name=\"b\"\r\nContent-Type: text/plain\r\n\r\n\r\n"
                       "--XyZ--\r\nepilogue --XyZ garbage";
    assert_int_equal(parse(MP, body, f).status, 0);
    expect_text(f, "a", "1");
    expect_text(f, "b", "");
}

void test_multipart_boundary_parameter(void **)
{
    Fields f;
    std::string body = "--a b:c\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\nv\r\n--a b:c--";
    assert_int_equal(parse("multipart/form-data; boundary=\"a b:c\"; charset=utf-8", body, f).status, 0);
    expect_text(f, "x", "v");
    assert_int_equal(parse("Multipart/Form-Data;BOUNDARY=XyZ", named("y", "1") + END, f).status, 0);
    expect_text(f, "y", "1");
}

void test_multipart_bad_boundary(void **)
{
    const std::string none = R"({"detail": "Multipart form parse error - Invalid boundary in multipart: None"})";
    expect_error("multipart/form-data", "x", 400, none);
    expect_error("multipart/form-data; charset=utf-8", "x", 400, none);
    expect_error("multipart/form-data; boundary=\"\"", "x", 400,
                 R"({"detail": "Multipart form parse error - Invalid boundary in multipart: "})");
    expect_error("multipart/form-data; boundary=\"a\xc3\xa9\"", "x", 400,
                 "{\"detail\": \"Multipart form parse error - Invalid boundary in multipart: a\xc3\xa9\"}");
    expect_error("multipart/form-data; boundary=" + std::string(202, 'b'), "x", 400,
                 "{\"detail\": \"Multipart form parse error - Invalid boundary in multipart: " + std::string(202, 'b') +
                     "\"}");
}

void test_multipart_malformed(void **)
{
    auto expect_reason = [](const std::string &body, const char *reason) {
        expect_error(MP, body, 400, std::string("{\"detail\": \"Multipart form parse error - ") + reason + "\"}");
    };
    expect_reason("no boundary here", "Opening boundary not found");
    expect_reason(named("a", "1"), "Closing boundary not found");
    expect_reason(named("a", "1") + "--XyZ", "Malformed boundary line");
    expect_reason("--XyZjunk\r\n", "Malformed boundary line");
    expect_reason("--XyZ\r\nContent-Disposition: form-data; name=a\r\n--XyZ--", "Part headers not terminated");
    expect_reason("--XyZ\r\nContent-Disposition: form-data; name=a", "Part headers not terminated");
    expect_reason(part("Content-Disposition: form-data; name=a\r\nbroken header", "1") + END, "Malformed part header");
    // bare LF line ends are not multipart
    expect_reason("--XyZ\nContent-Disposition: form-data; name=\"a\"\n\n1\n--XyZ--\n", "Malformed boundary line");
    expect_reason(named("a", "\xff") + END, "Invalid UTF-8 in field name or value");
    expect_reason(named("\xc3", "1") + END, "Invalid UTF-8 in field name or value");
}

void test_multipart_skips_parts_without_name(void **)
{
    Fields f;
    std::string body = part("Content-Type: text/plain", "x") + part("Content-Disposition: form-data", "y") +
                       "--XyZ\r\n\r\nno headers\r\n" + named("a", "1") + END;
    assert_int_equal(parse(MP, body, f).status, 0);
    assert_int_equal(f.size(), 1);
    expect_text(f, "a", "1");
}

void test_multipart_file_parts(void **)
{
    Fields f;
    std::string body =
        named("a", "1") +
        part("Content-Disposition: form-data; name=\"upload\"; filename=\"a.txt\"\r\nContent-Type: text/plain",
             "\xff\xfe binary is fine in files") +
        part("Content-Disposition: form-data; name=\"a\"; filename=\"x.bin\"", "file") + // shadows field a
        part("Content-Disposition: form-data; name=\"b\"; filename=\"\"", "empty filename: a field") +
        part("Content-Disposition: form-data; name=\"c\"; filename*=UTF-8''r%C3%A9sum%C3%A9.txt", "f") + END;
    assert_int_equal(parse(MP, body, f).status, 0);
    assert_int_equal(f.size(), 4);
    assert_int_equal(field(f, "upload").kind, FieldValue::Kind::Other);
    assert_int_equal(field(f, "a").kind, FieldValue::Kind::Other);
    assert_int_equal(field(f, "c").kind, FieldValue::Kind::Other);
    expect_text(f, "b", "empty filename: a field");
    std::string out;
    assert_int_equal(get_char_field(f, "a", out), FieldState::Invalid); // DRF: "Not a valid string."
}

void test_multipart_names(void **)
{
    Fields f;
    std::string body = part("Content-Disposition: form-data; name=\"a\\\"b;c\"", "1") +
                       part("Content-Disposition: form-data; name*=UTF-8''caf%C3%A9", "2") +
                       part("Content-Disposition: form-data; name=\"  spaced \"", "3") +
                       part("Content-Disposition: form-data; name=\"dup\"", "first") +
                       part("Content-Disposition: form-data; name=\"dup\"", "last") + END;
    assert_int_equal(parse(MP, body, f).status, 0);
    expect_text(f, "a\"b;c", "1");
    expect_text(f, "caf\xc3\xa9", "2");
    expect_text(f, "spaced", "3"); // Django strips names
    expect_text(f, "dup", "last");
}

void test_multipart_empty_and_limits(void **)
{
    Fields f;
    assert_int_equal(parse(MP, "--XyZ--", f).status, 0);
    assert_true(f.empty());
    std::string body = named("a", "1") + named("b", "2") + named("c", "3") + END;
    assert_int_equal(parse(MP, body, f, 3).status, 0);
    BodyResult r = parse(MP, body, f, 2);
    assert_int_equal(r.status, 413);
    expect_eq(r.error_json, R"({"detail": "Too many fields in request body."})");
}

/* ---- reading fields ------------------------------------------------------------ */

Fields json_fields(const char *body)
{
    Fields f;
    BodyResult r = parse_body(JSON, body, f);
    assert_int_equal(r.status, 0);
    return f;
}

void test_char_field_states(void **)
{
    Fields f = json_fields(R"({"s": "  alice \n", "e": "", "w": " \t ", "n": null, "t": true,)"
                           R"( "l": [], "o": {}, "u": "\u00a0x\u3000", "i": 42})");
    std::string out = "unchanged";
    assert_int_equal(get_char_field(f, "missing", out), FieldState::Missing);
    expect_eq(out, "unchanged");
    assert_int_equal(get_char_field(f, "n", out), FieldState::Null);
    assert_int_equal(get_char_field(f, "t", out), FieldState::Invalid);
    assert_int_equal(get_char_field(f, "l", out), FieldState::Invalid);
    assert_int_equal(get_char_field(f, "o", out), FieldState::Invalid);
    assert_int_equal(get_char_field(f, "s", out), FieldState::Ok);
    expect_eq(out, "alice");
    assert_int_equal(get_char_field(f, "s", out, false), FieldState::Ok);
    expect_eq(out, "  alice \n");
    assert_int_equal(get_char_field(f, "e", out), FieldState::Blank);
    expect_eq(out, "");
    assert_int_equal(get_char_field(f, "e", out, false), FieldState::Blank);
    assert_int_equal(get_char_field(f, "w", out), FieldState::Blank);
    assert_int_equal(get_char_field(f, "w", out, false), FieldState::Ok);
    expect_eq(out, " \t ");
    assert_int_equal(get_char_field(f, "u", out), FieldState::Ok); // Unicode whitespace is stripped too
    expect_eq(out, "x");
    assert_int_equal(get_char_field(f, "i", out), FieldState::Ok);
    expect_eq(out, "42");
}

void test_char_field_numbers_as_python_str(void **)
{
    Fields f = json_fields(R"({"a": 1.50, "b": -0, "c": 1e5, "d": 1e16, "e": 0.0001, "f": 1E-5, "g": 1e400, "h": -0.0})");
    std::string out;
    const char *const want[][2] = {{"a", "1.5"},     {"b", "0"},     {"c", "100000.0"}, {"d", "1e+16"},
                                   {"e", "0.0001"}, {"f", "1e-05"}, {"g", "inf"},      {"h", "-0.0"}};
    for (const auto &w : want) {
        assert_int_equal(get_char_field(f, w[0], out), FieldState::Ok);
        expect_eq(out, w[1]);
    }
}

void test_char_field_null_characters(void **)
{
    Fields f = json_fields(R"({"a": " x\u0000y ", "b": "\u0000"})");
    std::string out;
    assert_int_equal(get_char_field(f, "a", out), FieldState::NullCharacters);
    expect_eq(std::string(out.c_str()), "x"); // stripped value kept for the length checks
    assert_int_equal(out.size(), 3);
    assert_int_equal(get_char_field(f, "b", out), FieldState::NullCharacters); // NUL is not whitespace
}

void test_char_field_form_values(void **)
{
    Fields f;
    assert_int_equal(parse_body(FORM, "a=+x+&b=", f).status, 0);
    std::string out;
    assert_int_equal(get_char_field(f, "a", out), FieldState::Ok);
    expect_eq(out, "x");
    assert_int_equal(get_char_field(f, "b", out), FieldState::Blank);
}

void test_char_field_messages(void **)
{
    expect_eq(std::string(char_field_message(FieldState::Ok)), "");
    expect_eq(std::string(char_field_message(FieldState::Missing)), "This field is required.");
    expect_eq(std::string(char_field_message(FieldState::Null)), "This field may not be null.");
    expect_eq(std::string(char_field_message(FieldState::Blank)), "This field may not be blank.");
    expect_eq(std::string(char_field_message(FieldState::Invalid)), "Not a valid string.");
    expect_eq(std::string(char_field_message(FieldState::NullCharacters)), "Null characters are not allowed.");
    expect_eq(std::string(MSG_REQUIRED), "This field is required.");
    expect_eq(std::string(MSG_BLANK), "This field may not be blank.");
    expect_eq(std::string(MSG_NULL), "This field may not be null.");
    expect_eq(std::string(MSG_NOT_A_STRING), "Not a valid string.");
    expect_eq(std::string(MSG_NULL_CHARACTERS), "Null characters are not allowed.");
    expect_eq(std::string(MSG_NOT_A_BOOLEAN), "Must be a valid boolean.");
}

void test_bool_field(void **)
{
    Fields f = json_fields(R"({"t": true, "f": false, "one": 1, "zero": 0, "onef": 1.0, "zerof": -0.0, "two": 2,)"
                           R"( "n": null, "l": [true], "s1": "yes", "s2": "No", "s3": "ON", "s4": "off", "s5": "1",)"
                           R"( "s6": "0", "s7": "True", "s8": "tRue", "s9": "null", "s10": "", "s11": " true"})");
    bool b = false;
    auto expect = [&](const char *name, FieldState state, bool value) {
        b = !value;
        assert_int_equal(get_bool_field(f, name, b), state);
        if (state == FieldState::Ok)
            assert_int_equal(b, value);
    };
    expect("t", FieldState::Ok, true);
    expect("f", FieldState::Ok, false);
    expect("one", FieldState::Ok, true);
    expect("zero", FieldState::Ok, false);
    expect("onef", FieldState::Ok, true);
    expect("zerof", FieldState::Ok, false);
    expect("two", FieldState::Invalid, false);
    expect("n", FieldState::Null, false);
    expect("l", FieldState::Invalid, false);
    expect("s1", FieldState::Ok, true);
    expect("s2", FieldState::Ok, false);
    expect("s3", FieldState::Ok, true);
    expect("s4", FieldState::Ok, false);
    expect("s5", FieldState::Ok, true);
    expect("s6", FieldState::Ok, false);
    expect("s7", FieldState::Ok, true);
    expect("s8", FieldState::Invalid, false);
    expect("s9", FieldState::Invalid, false); // "null" is only allowed with allow_null
    expect("s10", FieldState::Invalid, false);
    expect("s11", FieldState::Invalid, false);
    expect("missing", FieldState::Missing, false);
}

void test_python_number_str(void **)
{
    const char *const cases[][2] = {
        {"0", "0"},
        {"-0", "0"},
        {"42", "42"},
        {"-7", "-7"},
        {"123456789012345678901234567890", "123456789012345678901234567890"},
        {"1.0", "1.0"},
        {"1.50", "1.5"},
        {"-2.5", "-2.5"},
        {"0.1", "0.1"},
        {"1e5", "100000.0"},
        {"1E+2", "100.0"},
        {"1e15", "1000000000000000.0"},
        {"1e16", "1e+16"},
        {"1e22", "1e+22"},
        {"-1.5E+20", "-1.5e+20"},
        {"1.2345678901234567e+25", "1.2345678901234566e+25"},
        {"0.0001", "0.0001"},
        {"0.000012", "1.2e-05"},
        {"1E-5", "1e-05"},
        {"1e-7", "1e-07"},
        {"12.5e-3", "0.0125"},
        {"123.456e-2", "1.23456"},
        {"5e-324", "5e-324"},
        {"1e400", "inf"},
        {"-1e400", "-inf"},
        {"1e-400", "0.0"},
        {"-1E-400", "-0.0"},
        {"0.000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
         "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
         "00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
         "000000000000000001",
         "0.0"},
        {"1e-99999999999999999999", "0.0"},
        {"1e99999999999999999999", "inf"},
        {"-0.0", "-0.0"},
        {"0e10", "0.0"},
    };
    for (const auto &c : cases)
        expect_eq(python_number_str(c[0]), c[1]);
}

} // namespace

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_body_is_ok_for_any_type),
        cmocka_unit_test(test_unsupported_media_type),
        cmocka_unit_test(test_media_type_matching),
        cmocka_unit_test(test_json_object_fields),
        cmocka_unit_test(test_json_whitespace_and_unicode),
        cmocka_unit_test(test_json_duplicate_keys_last_wins),
        cmocka_unit_test(test_json_nul_is_kept_for_the_field_check),
        cmocka_unit_test(test_json_not_an_object),
        cmocka_unit_test(test_json_syntax_errors_as_python),
        cmocka_unit_test(test_json_string_errors_as_python),
        cmocka_unit_test(test_json_positions_count_characters),
        cmocka_unit_test(test_json_constants_rejected_as_drf),
        cmocka_unit_test(test_json_integer_digit_limit),
        cmocka_unit_test(test_json_invalid_utf8_as_python),
        cmocka_unit_test(test_json_lone_surrogates_rejected),
        cmocka_unit_test(test_json_nesting_limit),
        cmocka_unit_test(test_json_too_many_fields),
        cmocka_unit_test(test_form_basic),
        cmocka_unit_test(test_form_decoding_edge_cases),
        cmocka_unit_test(test_form_blank_and_empty_pairs),
        cmocka_unit_test(test_form_repeated_key_last_wins),
        cmocka_unit_test(test_form_utf8),
        cmocka_unit_test(test_form_too_many_fields),
        cmocka_unit_test(test_multipart_basic),
        cmocka_unit_test(test_multipart_preamble_epilogue_padding),
        cmocka_unit_test(test_multipart_boundary_parameter),
        cmocka_unit_test(test_multipart_bad_boundary),
        cmocka_unit_test(test_multipart_malformed),
        cmocka_unit_test(test_multipart_skips_parts_without_name),
        cmocka_unit_test(test_multipart_file_parts),
        cmocka_unit_test(test_multipart_names),
        cmocka_unit_test(test_multipart_empty_and_limits),
        cmocka_unit_test(test_char_field_states),
        cmocka_unit_test(test_char_field_numbers_as_python_str),
        cmocka_unit_test(test_char_field_null_characters),
        cmocka_unit_test(test_char_field_form_values),
        cmocka_unit_test(test_char_field_messages),
        cmocka_unit_test(test_bool_field),
        cmocka_unit_test(test_python_number_str),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
