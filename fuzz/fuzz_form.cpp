// libFuzzer target: the urlencoded form decoder, i.e. restauth::parse_body
// with Content-Type application/x-www-form-urlencoded.  The whole input is
// the body.
//
// Differential oracle: a small reference decoder written from body.h's
// contract (Python's parse_qsl with keep_blank_values, as Django's
// QueryDict calls it):
//   - pairs split at '&', empty pairs skipped, more than max_fields
//     non-empty pairs -> 413;
//   - name and value split at the first '='; a pair without '=' has an
//     empty value;
//   - '+' is a space, %XX (two hex digits, either case) is a byte, any other
//     '%' stays literally; %2B is a '+', not a space;
//   - a name or value that is not UTF-8 after decoding -> 400 (the first
//     offending pair decides, in order with the 413 check);
//   - the last of repeated names wins.
// Any disagreement with parse_body aborts with the reason.
#include <map>
#include <string>
#include <string_view>

#include "body.h"
#include "fuzz_common.h"

using namespace restauth;

namespace {

int hexval(unsigned char c)
{
    if ('0' <= c && c <= '9') return c - '0';
    c = static_cast<unsigned char>(c | 0x20);
    if ('a' <= c && c <= 'f') return c - 'a' + 10;
    return -1;
}

std::string unquote_plus(std::string_view s)
{
    std::string out;
    size_t i = 0;
    while (i < s.size()) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c == '%' && s.size() - i >= 3 && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            out.push_back(static_cast<char>(hexval(s[i + 1]) * 16 + hexval(s[i + 2])));
            i += 3;
        } else {
            out.push_back(c == '+' ? ' ' : static_cast<char>(c));
            i++;
        }
    }
    return out;
}

enum class Want { Ok, Bad, TooMany };

Want reference(std::string_view body, size_t max_fields, std::map<std::string, std::string> &out)
{
    size_t count = 0;
    for (;;) {
        size_t amp = body.find('&');
        std::string_view pair = body.substr(0, amp);
        if (!pair.empty()) {
            if (++count > max_fields) return Want::TooMany;
            size_t eq = pair.find('=');
            std::string name = unquote_plus(pair.substr(0, eq));
            std::string value = eq == std::string_view::npos ? "" : unquote_plus(pair.substr(eq + 1));
            if (!fuzz::valid_utf8(name) || !fuzz::valid_utf8(value)) return Want::Bad;
            out[name] = value;
        }
        if (amp == std::string_view::npos) break;
        body.remove_prefix(amp + 1);
    }
    return Want::Ok;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    std::string_view body = fuzz::view(data, size);
    Fields fields;
    BodyResult r = parse_body("application/x-www-form-urlencoded", body, fields);

    FUZZ_CHECK(r.form);
    FUZZ_CHECK(r.error_json.empty() == (r.status == 0));
    if (r.status != 0) FUZZ_CHECK(fuzz::is_json_object(r.error_json));

    std::map<std::string, std::string> ref;
    Want want = reference(body, DEFAULT_MAX_FIELDS, ref);
    switch (want) {
    case Want::TooMany: FUZZ_CHECK(r.status == 413); return 0;
    case Want::Bad: FUZZ_CHECK(r.status == 400); return 0;
    case Want::Ok: FUZZ_CHECK(r.status == 0); break;
    }
    FUZZ_CHECK(fields.size() == ref.size());
    for (const auto &[name, value] : ref) {
        auto it = fields.find(name);
        FUZZ_CHECK(it != fields.end());
        FUZZ_CHECK(it->second.kind == FieldValue::Kind::String);
        FUZZ_CHECK(it->second.text == value);

        std::string got;
        FieldState st = get_char_field(fields, name, got);
        if (st == FieldState::Ok || st == FieldState::NullCharacters) FUZZ_CHECK(!got.empty());
        bool b;
        (void)get_bool_field(fields, name, b);
    }
    return 0;
}
