// libFuzzer target: restauth::parse_body (src/core/body.h) for every parser it
// selects -- JSON, urlencoded forms, multipart -- then every field read back
// through get_char_field / get_bool_field.
//
// Input layout: byte 0 chooses the Content-Type (its low 3 bits) and the
// field limit (bit 3); the rest is the body.  With ASCII digits as byte 0
// the seeds stay readable:
//
//   '0'  application/json                     '8'  same, max_fields = 3
//   '1'  application/x-www-form-urlencoded    '9'  same, max_fields = 3
//   '2'  multipart/form-data; boundary=XyZzy  ':'  same, max_fields = 3
//   '3'  application/json; charset=utf-8
//   '4'  */*            (DRF picks the first parser: JSON)
//   '5'  multipart/*; boundary="quoted \"b\"; x"
//   '6'  the Content-Type is the input's first line (up to '\n'), the
//        body the rest: exercises the header-parameter parser (quoting,
//        RFC 2231 name*=, '*' wildcards, 415)
//   '7'  application/x-www-form-urlencoded; charset=utf-8
//
// Besides crashes (ASan/UBSan), it checks what body.h promises:
//  - status is 0, 400, 413 or 415; error_json is set exactly on errors and
//    is a JSON object in valid UTF-8;
//  - on success at most max_fields fields, every name and string value
//    valid UTF-8, numbers render (python_number_str) to the same double;
//  - get_char_field's states agree with its out value.
#include <cmath>
#include <cstdlib>
#include <string>
#include <string_view>

#include "body.h"
#include "fuzz_common.h"

using namespace restauth;

namespace {

void check_number(const std::string &json_number)
{
    FUZZ_CHECK(!json_number.empty());
    std::string py = python_number_str(json_number);
    FUZZ_CHECK(!py.empty());
    bool is_float = json_number.find_first_of(".eE") != std::string::npos;
    if (!is_float) {
        // JSON integers have no leading zeros: only "-0" changes.
        FUZZ_CHECK(py == (json_number == "-0" ? std::string("0") : json_number));
        return;
    }
    // Python's repr() of a float always says it is one.
    FUZZ_CHECK(py.find_first_of(".e") != std::string::npos || py == "inf" || py == "-inf");
    // ... and reads back as the same double (strtod rounds correctly and
    // gives +-HUGE_VAL on overflow, 0 on underflow, as Python's float()).
    double want = std::strtod(json_number.c_str(), nullptr);
    double got = std::strtod(py.c_str(), nullptr);
    FUZZ_CHECK(want == got);
    FUZZ_CHECK(std::signbit(want) == std::signbit(got));
}

void check_fields(const Fields &fields)
{
    for (const auto &[name, value] : fields) {
        FUZZ_CHECK(fuzz::valid_utf8(name));
        switch (value.kind) {
        case FieldValue::Kind::String: FUZZ_CHECK(fuzz::valid_utf8(value.text)); break;
        case FieldValue::Kind::Number: check_number(value.text); break;
        case FieldValue::Kind::Other: FUZZ_CHECK(fuzz::valid_utf8(value.text)); break;
        case FieldValue::Kind::Null:
        case FieldValue::Kind::Bool: break;
        }

        for (bool trim : {true, false}) {
            std::string out = "sentinel";
            FieldState st = get_char_field(fields, name, out, trim);
            std::string_view msg = char_field_message(st);
            FUZZ_CHECK(msg.empty() == (st == FieldState::Ok));
            switch (st) {
            case FieldState::Ok:
                FUZZ_CHECK(!out.empty());
                FUZZ_CHECK(out.find('\0') == std::string::npos);
                break;
            case FieldState::Blank: FUZZ_CHECK(out.empty()); break;
            case FieldState::NullCharacters: FUZZ_CHECK(out.find('\0') != std::string::npos); break;
            case FieldState::Missing: FUZZ_CHECK(!"a present field read as missing"); break;
            case FieldState::Null: FUZZ_CHECK(value.kind == FieldValue::Kind::Null); break;
            case FieldState::Invalid:
                FUZZ_CHECK(value.kind == FieldValue::Kind::Bool || value.kind == FieldValue::Kind::Other);
                break;
            }
        }
        bool b = false;
        FieldState bs = get_bool_field(fields, name, b);
        FUZZ_CHECK(bs != FieldState::Missing && bs != FieldState::Blank && bs != FieldState::NullCharacters);
    }
    // A name that cannot be a field (not UTF-8) reads as missing.
    std::string out;
    FUZZ_CHECK(get_char_field(fields, "\xff", out) == FieldState::Missing);
    bool b;
    FUZZ_CHECK(get_bool_field(fields, "\xff", b) == FieldState::Missing);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    std::string_view rest = fuzz::view(data + 1, size - 1);
    const unsigned sel = data[0] & 7;
    const size_t max_fields = (data[0] & 8) ? 3 : DEFAULT_MAX_FIELDS;

    static constexpr std::string_view kTypes[8] = {
        "application/json",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=XyZzy",
        "application/json; charset=utf-8",
        "*/*",
        "multipart/*; boundary=\"quoted \\\"b\\\"; x\"",
        "",  // from the input
        "application/x-www-form-urlencoded; charset=utf-8",
    };
    std::string_view content_type = kTypes[sel];
    std::string_view body = rest;
    if (sel == 6) {
        size_t nl = rest.find('\n');
        content_type = rest.substr(0, nl);
        body = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    }

    Fields fields;
    BodyResult r = parse_body(content_type, body, fields, max_fields);

    FUZZ_CHECK(r.status == 0 || r.status == 400 || r.status == 413 || r.status == 415);
    FUZZ_CHECK(r.error_json.empty() == (r.status == 0));
    if (r.status != 0) {
        FUZZ_CHECK(fuzz::is_json_object(r.error_json));
    } else {
        FUZZ_CHECK(fields.size() <= max_fields);
        if (sel != 6 && !body.empty()) {
            bool json = sel == 0 || sel == 3 || sel == 4;
            FUZZ_CHECK(r.form == !json);
        }
    }
    // Fields may be partly filled on errors; reading them must still be safe.
    check_fields(fields);
    return 0;
}
