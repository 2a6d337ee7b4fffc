/*
 * JSON helpers: cJSON parsing and printing (JsonPtr, the owning pointer,
 * is in json_ptr.h), a small writer for response bodies, and the DRF error
 * shapes ({"detail": ...} and {"field": ["message", ...]}).
 *
 * Output follows the contract's examples (/work/shared/API.md), which are
 * Python's json.dumps() defaults: ": " and ", " separators. Strings are
 * escaped as DRF's JSONRenderer does (UNICODE_JSON): non-ASCII text passed
 * through as UTF-8, control characters escaped (\n, \t, ..., otherwise
 * \u00xx in lower-case hex), and U+2028/U+2029 escaped so the output is
 * also valid JavaScript. Invalid UTF-8 in a string is replaced by U+FFFD,
 * so the output is always valid UTF-8.
 *
 * Also home of the UTF-8 decoder the other text code shares.
 */
#ifndef RESTAUTH_JSON_H
#define RESTAUTH_JSON_H

#include <cjson/cJSON.h>

#include "json_ptr.h"

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace restauth {

/* ---- cJSON ---------------------------------------------------------------- */

/* Parses `text` with cJSON; null on malformed input or allocation failure.
 * cJSON is lenient (it accepts e.g. leading zeros and raw control
 * characters in strings); request bodies go through parse_body() instead. */
JsonPtr json_parse(std::string_view text);

/* Compact (unformatted) serialisation; "" when item is null or on allocation
 * failure. */
std::string json_print(const cJSON *item);

/* ---- UTF-8 --------------------------------------------------------------- */

enum class Utf8Error {
    None,
    InvalidStart,        /* 0x80-0xC1 or 0xF5-0xFF where a sequence starts */
    InvalidContinuation, /* a sequence broken by an unexpected byte */
    Truncated,           /* the input ends inside a sequence */
};

/* Decodes the code point at s[pos] (strict: no overlong forms, surrogates
 * or values above U+10FFFF) and advances pos past it. On error pos is
 * advanced past the maximal invalid subpart (at least one byte; the same
 * span Python's decoder reports) and cp is left unspecified. pos must be
 * < s.size(). */
Utf8Error utf8_decode(std::string_view s, std::size_t &pos, char32_t &cp);

/* Appends the UTF-8 encoding of cp (which must be a scalar value). */
void utf8_append(std::string &out, char32_t cp);

/* ---- writing JSON -------------------------------------------------------- */

/* Appends s as a quoted, escaped JSON string. */
void json_append_string(std::string &out, std::string_view s);
/* s as a quoted, escaped JSON string. */
std::string json_string(std::string_view s);

/*
 * Builds one JSON document; separators are inserted automatically. Calls
 * must be balanced (every begin_* closed, a key() followed by one value);
 * the writer does not check that.
 *
 *     JsonWriter w;
 *     w.begin_object().key("detail").string("ok").end_object();
 *     std::string body = w.take();
 */
class JsonWriter {
public:
    JsonWriter &begin_object();
    JsonWriter &end_object();
    JsonWriter &begin_array();
    JsonWriter &end_array();
    JsonWriter &key(std::string_view name);
    JsonWriter &string(std::string_view value);
    JsonWriter &number(long long value);
    JsonWriter &boolean(bool value);
    JsonWriter &null();
    /* A value that is already serialised JSON, inserted verbatim. */
    JsonWriter &raw(std::string_view json);

    const std::string &str() const { return out_; }
    std::string take() { return std::move(out_); }

private:
    void before_value();
    JsonWriter &open(char bracket);
    JsonWriter &close(char bracket);

    std::string out_;
    std::vector<bool> has_items_; /* one per open container */
    bool after_key_ = false;
};

/* ---- DRF error shapes ---------------------------------------------------- */

inline constexpr std::string_view NON_FIELD_ERRORS = "non_field_errors";

/* {"detail": "<msg>"} */
std::string json_detail(std::string_view msg);
/* {"<field>": ["<msg>"]} */
std::string json_field_error(std::string_view field, std::string_view msg);

/*
 * Field errors in DRF's shape. A field's messages stay together in the
 * order added; fields keep the order of their first add() (DRF reports in
 * serializer field order, so add in that order).
 */
class FieldErrors {
public:
    void add(std::string_view field, std::string_view msg);
    void add(std::string_view field, const std::vector<std::string> &msgs);
    bool empty() const { return fields_.empty(); }
    bool has(std::string_view field) const;
    /* {"<field>": ["m1", "m2"], ...}; "{}" when empty. */
    std::string to_json() const;

private:
    std::vector<std::pair<std::string, std::vector<std::string>>> fields_;
};

} // namespace restauth

#endif
