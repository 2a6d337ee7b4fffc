#include "body.h"

#include "json.h"
#include "validation.h"

#include <charconv>
#include <initializer_list>
#include <cmath>
#include <cstdio>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace restauth {
namespace {

constexpr std::size_t npos = std::string_view::npos;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

std::string ascii_lowered(std::string_view s)
{
    std::string out(s);
    for (char &c : out)
        c = ascii_lower(c);
    return out;
}

bool iequals(std::string_view a, std::string_view b)
{
    if (a.size() != b.size())
        return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (ascii_lower(a[i]) != ascii_lower(b[i]))
            return false;
    return true;
}

/* HTTP optional whitespace, as trimmed around header parts. */
std::string_view trim_ows(std::string_view s)
{
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

bool valid_utf8(std::string_view s)
{
    std::size_t pos = 0;
    char32_t cp;
    while (pos < s.size())
        if (utf8_decode(s, pos, cp) != Utf8Error::None)
            return false;
    return true;
}

int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* %XX decoding as Python's unquote(): a '%' not followed by two hex digits
 * stays as it is. */
std::string percent_decode(std::string_view s, bool plus_is_space)
{
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        if (c == '%' && i + 2 < s.size()) {
            int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
            if (hi >= 0 && lo >= 0) {
                out += static_cast<char>(hi * 16 + lo);
                i += 2;
                continue;
            }
        }
        out += (plus_is_space && c == '+') ? ' ' : c;
    }
    return out;
}

BodyResult error(int status, std::string json)
{
    BodyResult r;
    r.status = status;
    r.error_json = std::move(json);
    return r;
}

BodyResult too_many_fields()
{
    return error(413, json_detail("Too many fields in request body."));
}

/* ---- header values: type; name=value; name="quoted" ---------------------- */

struct HeaderValue {
    std::string type; /* lower-cased */
    std::vector<std::pair<std::string, std::string>> params; /* names lower-cased */

    const std::string *param(std::string_view name) const
    {
        const std::string *found = nullptr;
        for (const auto &p : params)
            if (p.first == name)
                found = &p.second; /* the last one wins */
        return found;
    }
};

/* Splits at ';' outside double quotes. */
std::vector<std::string_view> split_params(std::string_view v)
{
    std::vector<std::string_view> parts;
    bool quoted = false;
    std::size_t start = 0;
    for (std::size_t i = 0; i < v.size(); ++i) {
        char c = v[i];
        if (quoted && c == '\\' && i + 1 < v.size())
            ++i;
        else if (c == '"')
            quoted = !quoted;
        else if (c == ';' && !quoted) {
            parts.push_back(v.substr(start, i - start));
            start = i + 1;
        }
    }
    parts.push_back(v.substr(start));
    return parts;
}

/* RFC 2231 "charset'lang'%xx" values (name*=...): UTF-8 and ASCII only;
 * anything else is kept undecoded. */
std::string decode_extended_value(std::string_view v)
{
    std::size_t q1 = v.find('\'');
    std::size_t q2 = q1 == npos ? npos : v.find('\'', q1 + 1);
    if (q2 == npos || v.find('\'', q2 + 1) != npos)
        return std::string(v);
    std::string_view charset = v.substr(0, q1);
    if (!charset.empty() && !iequals(charset, "utf-8") && !iequals(charset, "us-ascii"))
        return std::string(v);
    return percent_decode(v.substr(q2 + 1), false);
}

HeaderValue parse_header_value(std::string_view v)
{
    HeaderValue hv;
    std::vector<std::string_view> parts = split_params(v);
    hv.type = ascii_lowered(trim_ows(parts[0]));
    for (std::size_t i = 1; i < parts.size(); ++i) {
        std::string_view p = parts[i];
        std::size_t eq = p.find('=');
        if (eq == npos)
            continue;
        std::string name = ascii_lowered(trim_ows(p.substr(0, eq)));
        std::string_view raw = trim_ows(p.substr(eq + 1));
        std::string value;
        if (raw.size() >= 2 && raw.front() == '"' && raw.back() == '"') {
            raw = raw.substr(1, raw.size() - 2);
            for (std::size_t k = 0; k < raw.size(); ++k) {
                if (raw[k] == '\\' && k + 1 < raw.size() && (raw[k + 1] == '\\' || raw[k + 1] == '"'))
                    ++k;
                value += raw[k];
            }
        } else {
            value = std::string(raw);
        }
        if (!name.empty() && name.back() == '*') {
            name.pop_back();
            value = decode_extended_value(value);
        }
        hv.params.emplace_back(std::move(name), std::move(value));
    }
    return hv;
}

/* A header value fit to quote in an error message: control characters
 * dropped (the JSON writer escapes the rest). */
std::string printable(std::string_view s)
{
    std::string out;
    for (char c : s) {
        unsigned char u = static_cast<unsigned char>(c);
        if (u >= 0x20 && u != 0x7F)
            out += c;
    }
    return out;
}

/* ---- positions and messages as Python reports them ------------------------ */

/* "line L column C (char N)" for a byte offset into valid UTF-8 text;
 * Python counts characters, not bytes. */
std::string python_position(std::string_view s, std::size_t pos)
{
    std::size_t chars = 0, line = 1, line_start = 0; /* in characters */
    bool seen_newline = false;
    for (std::size_t i = 0; i < pos && i < s.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if ((c & 0xC0) == 0x80)
            continue;
        if (c == '\n') {
            ++line;
            line_start = chars;
            seen_newline = true;
        }
        ++chars;
    }
    std::size_t column = seen_newline ? chars - line_start : chars + 1;
    return "line " + std::to_string(line) + " column " + std::to_string(column) + " (char " +
           std::to_string(chars) + ")";
}

/* Python's UnicodeDecodeError text for the first invalid sequence, or "". */
std::string python_utf8_error(std::string_view s)
{
    std::size_t pos = 0;
    char32_t cp;
    while (pos < s.size()) {
        std::size_t start = pos;
        Utf8Error e = utf8_decode(s, pos, cp);
        if (e == Utf8Error::None)
            continue;
        const char *reason = e == Utf8Error::InvalidStart          ? "invalid start byte"
                             : e == Utf8Error::InvalidContinuation ? "invalid continuation byte"
                                                                   : "unexpected end of data";
        char buf[160];
        if (pos - start == 1)
            std::snprintf(buf, sizeof buf, "'utf-8' codec can't decode byte 0x%02x in position %zu: %s",
                          static_cast<unsigned char>(s[start]), start, reason);
        else
            std::snprintf(buf, sizeof buf, "'utf-8' codec can't decode bytes in position %zu-%zu: %s",
                          start, pos - 1, reason);
        return buf;
    }
    return {};
}

/* ---- JSON (Python's json module, strict, as DRF configures it) ------------ */

/* Python refuses to convert integers with more digits than this. */
constexpr std::size_t PYTHON_INT_MAX_STR_DIGITS = 4300;

class JsonReader {
public:
    JsonReader(std::string_view s, std::size_t max_fields) : s_(s), max_fields_(max_fields) {}

    /* Parses the whole text. On failure error() describes it. */
    bool parse(Fields &fields, FieldValue &top, bool &top_is_float)
    {
        fields_ = &fields;
        std::size_t i = 0;
        skip_ws(i);
        if (!value(i, 0, &top, &top_is_float))
            return false;
        skip_ws(i);
        if (i != s_.size())
            return fail("Extra data", i);
        if (surrogate_pos_ != npos)
            return fail("Unpaired surrogate in \\uXXXX escape", surrogate_pos_);
        return true;
    }

    bool too_many_fields() const { return too_many_; }
    /* The reason, in Python's words. */
    std::string error() const
    {
        if (err_pos_ == npos)
            return err_msg_;
        return err_msg_ + ": " + python_position(s_, err_pos_);
    }

private:
    bool fail(std::string msg, std::size_t pos)
    {
        err_msg_ = std::move(msg);
        err_pos_ = pos;
        return false;
    }

    bool fail_unpositioned(std::string msg) { return fail(std::move(msg), npos); }

    bool at(std::size_t i, char c) const { return i < s_.size() && s_[i] == c; }

    bool literal_at(std::size_t i, std::string_view word) const { return s_.substr(i, word.size()) == word; }

    void skip_ws(std::size_t &i) const
    {
        while (i < s_.size() && (s_[i] == ' ' || s_[i] == '\t' || s_[i] == '\n' || s_[i] == '\r'))
            ++i;
    }

    /* One value at s_[i]; `depth` containers enclose it. out/is_float may be
     * null (nested values are only validated). */
    bool value(std::size_t &i, std::size_t depth, FieldValue *out, bool *is_float)
    {
        if (i >= s_.size())
            return fail("Expecting value", i);
        std::size_t start = i;
        switch (s_[i]) {
        case '"': {
            std::string text;
            if (!string(i, out ? &text : nullptr))
                return false;
            if (out) {
                out->kind = FieldValue::Kind::String;
                out->text = std::move(text);
            }
            return true;
        }
        case '{':
        case '[': {
            if (depth + 1 > MAX_JSON_DEPTH)
                return fail("Maximum nesting depth (" + std::to_string(MAX_JSON_DEPTH) + ") exceeded", i);
            bool ok = s_[i] == '{' ? object(i, depth + 1) : array(i, depth + 1);
            if (ok && out) {
                out->kind = FieldValue::Kind::Other;
                /* a member keeps its raw text; the top level (the whole
                 * body) only its opening bracket */
                out->text = depth == 0 ? std::string(1, s_[start]) : std::string(s_.substr(start, i - start));
            }
            return ok;
        }
        case 'n':
            if (literal_at(i, "null")) {
                i += 4;
                if (out)
                    out->kind = FieldValue::Kind::Null;
                return true;
            }
            break;
        case 't':
        case 'f': {
            bool b = s_[i] == 't';
            std::string_view word = b ? "true" : "false";
            if (literal_at(i, word)) {
                i += word.size();
                if (out) {
                    out->kind = FieldValue::Kind::Bool;
                    out->boolean = b;
                }
                return true;
            }
            break;
        }
        case 'N':
            if (literal_at(i, "NaN"))
                return fail_unpositioned("Out of range float values are not JSON compliant: 'NaN'");
            break;
        case 'I':
            if (literal_at(i, "Infinity"))
                return fail_unpositioned("Out of range float values are not JSON compliant: 'Infinity'");
            break;
        case '-':
            if (literal_at(i, "-Infinity"))
                return fail_unpositioned("Out of range float values are not JSON compliant: '-Infinity'");
            break;
        default:
            break;
        }
        bool float_number = false;
        if (!number(i, float_number))
            return false;
        if (out) {
            out->kind = FieldValue::Kind::Number;
            out->text = std::string(s_.substr(start, i - start));
        }
        if (is_float)
            *is_float = float_number;
        return true;
    }

    /* A number at s_[i] by Python's rules (no leading zeros, a fraction or
     * exponent only when digits follow; what is left over is someone
     * else's problem). */
    bool number(std::size_t &i, bool &is_float)
    {
        const std::size_t n = s_.size(), start = i;
        std::size_t j = i;
        if (s_[j] == '-' && ++j >= n)
            return fail("Expecting value", start);
        if (s_[j] >= '1' && s_[j] <= '9') {
            while (j < n && is_digit(s_[j]))
                ++j;
        } else if (s_[j] == '0') {
            ++j;
        } else {
            return fail("Expecting value", start);
        }
        std::size_t int_digits = j - start - (s_[start] == '-' ? 1 : 0);
        is_float = false;
        if (j + 1 < n && s_[j] == '.' && is_digit(s_[j + 1])) {
            is_float = true;
            j += 2;
            while (j < n && is_digit(s_[j]))
                ++j;
        }
        if (j + 1 < n && (s_[j] == 'e' || s_[j] == 'E')) {
            std::size_t e = j++;
            if (j + 1 < n && (s_[j] == '-' || s_[j] == '+'))
                ++j;
            while (j < n && is_digit(s_[j]))
                ++j;
            if (is_digit(s_[j - 1]))
                is_float = true;
            else
                j = e;
        }
        if (!is_float && int_digits > PYTHON_INT_MAX_STR_DIGITS)
            return fail_unpositioned("Exceeds the limit (" + std::to_string(PYTHON_INT_MAX_STR_DIGITS) +
                                     " digits) for integer string conversion: value has " +
                                     std::to_string(int_digits) +
                                     " digits; use sys.set_int_max_str_digits() to increase the limit");
        i = j;
        return true;
    }

    bool hex4(std::size_t at, char32_t &unit) const
    {
        unit = 0;
        for (std::size_t k = at; k < at + 4; ++k) {
            int h = k < s_.size() ? hex_value(s_[k]) : -1;
            if (h < 0)
                return false;
            unit = (unit << 4) | static_cast<char32_t>(h);
        }
        return true;
    }

    /* A string whose opening quote is at s_[i]; leaves i after the closing
     * quote. The input is known to be valid UTF-8. */
    bool string(std::size_t &i, std::string *out)
    {
        const std::size_t n = s_.size(), begin = i;
        std::size_t j = i + 1;
        for (;;) {
            std::size_t run = j;
            while (j < n && s_[j] != '"' && s_[j] != '\\') {
                if (static_cast<unsigned char>(s_[j]) < 0x20)
                    return fail("Invalid control character at", j);
                ++j;
            }
            if (out)
                out->append(s_, run, j - run);
            if (j >= n)
                return fail("Unterminated string starting at", begin);
            if (s_[j] == '"') {
                i = j + 1;
                return true;
            }
            /* a backslash */
            if (j + 1 >= n)
                return fail("Unterminated string starting at", begin);
            char e = s_[j + 1];
            if (e != 'u') {
                char c;
                switch (e) {
                case '"': c = '"'; break;
                case '\\': c = '\\'; break;
                case '/': c = '/'; break;
                case 'b': c = '\b'; break;
                case 'f': c = '\f'; break;
                case 'n': c = '\n'; break;
                case 'r': c = '\r'; break;
                case 't': c = '\t'; break;
                default: return fail("Invalid \\escape", j);
                }
                if (out)
                    *out += c;
                j += 2;
                continue;
            }
            /* \uXXXX: Python wants the four digits and one more character */
            std::size_t u = j + 1;
            char32_t cp;
            if (u + 5 >= n || !hex4(u + 1, cp))
                return fail("Invalid \\uXXXX escape", u);
            j = u + 5;
            if (cp >= 0xD800 && cp <= 0xDBFF && j + 6 < n && literal_at(j, "\\u")) {
                char32_t low;
                if (!hex4(j + 2, low))
                    return fail("Invalid \\uXXXX escape", j + 1);
                if (low >= 0xDC00 && low <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                    j += 6;
                }
            }
            /* Python keeps lone surrogates (DRF then rejects them per
             * field). They have no UTF-8 form: remember the first one and
             * fail once the rest parsed, so that Python's own errors come
             * first. */
            if (cp >= 0xD800 && cp <= 0xDFFF) {
                if (surrogate_pos_ == npos)
                    surrogate_pos_ = u;
            } else if (out) {
                utf8_append(*out, cp);
            }
        }
    }

    /* An object whose '{' is at s_[i]. The top-level object's members go
     * into fields_. */
    bool object(std::size_t &i, std::size_t depth)
    {
        const bool top = depth == 1;
        std::size_t j = i + 1;
        skip_ws(j);
        if (!at(j, '}')) {
            for (;;) {
                if (!at(j, '"'))
                    return fail("Expecting property name enclosed in double quotes", j);
                std::string name;
                if (!string(j, top ? &name : nullptr))
                    return false;
                skip_ws(j);
                if (!at(j, ':'))
                    return fail("Expecting ':' delimiter", j);
                ++j;
                skip_ws(j);
                FieldValue member;
                if (!value(j, depth, top ? &member : nullptr, nullptr))
                    return false;
                if (top) {
                    if (++members_ > max_fields_) {
                        too_many_ = true;
                        return fail_unpositioned("too many fields");
                    }
                    (*fields_)[std::move(name)] = std::move(member);
                }
                bool closed;
                if (!after_item(j, '}', closed))
                    return false;
                if (closed)
                    break;
            }
        }
        i = j + 1;
        return true;
    }

    bool array(std::size_t &i, std::size_t depth)
    {
        std::size_t j = i + 1;
        skip_ws(j);
        if (!at(j, ']')) {
            for (;;) {
                if (!value(j, depth, nullptr, nullptr))
                    return false;
                bool closed;
                if (!after_item(j, ']', closed))
                    return false;
                if (closed)
                    break;
            }
        }
        i = j + 1;
        return true;
    }

    /* After a member or element: at the closing bracket (closed), or past
     * the ',' and the whitespace after it. */
    bool after_item(std::size_t &j, char close, bool &closed)
    {
        skip_ws(j);
        closed = at(j, close);
        if (closed)
            return true;
        if (!at(j, ','))
            return fail("Expecting ',' delimiter", j);
        ++j;
        skip_ws(j);
        return true;
    }

    std::string_view s_;
    std::size_t max_fields_;
    Fields *fields_ = nullptr;
    std::size_t members_ = 0;
    bool too_many_ = false;
    std::size_t surrogate_pos_ = npos; /* the first unpaired surrogate */
    std::string err_msg_;
    std::size_t err_pos_ = npos;
};

const char *python_type_name(const FieldValue &v, bool is_float)
{
    switch (v.kind) {
    case FieldValue::Kind::String: return "str";
    case FieldValue::Kind::Bool: return "bool";
    case FieldValue::Kind::Number: return is_float ? "float" : "int";
    case FieldValue::Kind::Null: return "NoneType";
    case FieldValue::Kind::Other: return v.text[0] == '[' ? "list" : "dict";
    }
    return "object";
}

BodyResult parse_json(std::string_view body, Fields &out, std::size_t max_fields)
{
    /* DRF decodes the whole body before json sees it. */
    std::string utf8_error = python_utf8_error(body);
    if (!utf8_error.empty())
        return error(400, json_detail("JSON parse error - " + utf8_error));
    if (body.substr(0, 3) == "\xEF\xBB\xBF")
        return error(400, json_detail("JSON parse error - Unexpected UTF-8 BOM (decode using utf-8-sig): " +
                                      python_position(body, 0)));

    JsonReader reader(body, max_fields);
    FieldValue top;
    bool is_float = false;
    if (!reader.parse(out, top, is_float)) {
        if (reader.too_many_fields())
            return too_many_fields();
        return error(400, json_detail("JSON parse error - " + reader.error()));
    }
    if (top.kind == FieldValue::Kind::Other && top.text[0] == '{')
        return {};
    out.clear();
    if (top.kind == FieldValue::Kind::Null) /* Serializer.errors' special case */
        return error(400, json_field_error(NON_FIELD_ERRORS, "No data provided"));
    return error(400, json_field_error(NON_FIELD_ERRORS, std::string("Invalid data. Expected a dictionary, but got ") +
                                                             python_type_name(top, is_float) + "."));
}

/* ---- application/x-www-form-urlencoded (Python's parse_qsl) --------------- */

BodyResult parse_form(std::string_view body, Fields &out, std::size_t max_fields)
{
    std::size_t count = 0;
    std::size_t start = 0;
    while (start <= body.size()) {
        std::size_t amp = body.find('&', start);
        std::string_view pair = body.substr(start, amp == npos ? npos : amp - start);
        start = amp == npos ? body.size() + 1 : amp + 1;
        if (pair.empty())
            continue;
        if (++count > max_fields)
            return too_many_fields();
        std::size_t eq = pair.find('=');
        std::string name = percent_decode(pair.substr(0, eq), true);
        std::string value = eq == npos ? std::string() : percent_decode(pair.substr(eq + 1), true);
        if (!valid_utf8(name) || !valid_utf8(value))
            return error(400, json_detail("Form parse error - Invalid UTF-8 in field name or value"));
        FieldValue &field = out[std::move(name)];
        field.kind = FieldValue::Kind::String;
        field.text = std::move(value);
    }
    return {};
}

/* ---- multipart/form-data --------------------------------------------------- */

BodyResult multipart_error(std::string_view reason)
{
    return error(400, json_detail("Multipart form parse error - " + std::string(reason)));
}

/* Django's check for a boundary (cgi.valid_boundary): printable ASCII, at
 * most 201 characters, not ending in a space. */
bool valid_boundary(std::string_view b)
{
    if (b.empty() || b.size() > 201 || b.back() == ' ')
        return false;
    for (char c : b)
        if (c < ' ' || c > '~')
            return false;
    return true;
}

BodyResult parse_multipart(const HeaderValue &type, std::string_view body, Fields &out, std::size_t max_fields)
{
    const std::string *boundary = type.param("boundary");
    if (boundary == nullptr)
        return multipart_error("Invalid boundary in multipart: None");
    if (!valid_boundary(*boundary))
        return multipart_error("Invalid boundary in multipart: " + printable(*boundary));

    const std::string delimiter = "--" + *boundary;
    const std::string next_delimiter = "\r\n" + delimiter;
    std::size_t pos;
    if (body.substr(0, delimiter.size()) == delimiter) {
        pos = delimiter.size();
    } else {
        std::size_t k = body.find(next_delimiter); /* after a preamble */
        if (k == npos)
            return multipart_error("Opening boundary not found");
        pos = k + next_delimiter.size();
    }

    std::vector<std::string> file_fields;
    std::size_t parts = 0;
    for (;;) {
        /* just after a delimiter: "--" closes, else padding and CRLF */
        if (body.substr(pos, 2) == "--")
            break; /* the epilogue is ignored */
        while (pos < body.size() && (body[pos] == ' ' || body[pos] == '\t'))
            ++pos;
        if (body.substr(pos, 2) != "\r\n")
            return multipart_error("Malformed boundary line");
        pos += 2;

        std::size_t end = body.find(next_delimiter, pos);
        std::string_view headers;
        if (body.substr(pos, 2) == "\r\n") {
            pos += 2; /* no headers */
        } else {
            std::size_t headers_end = body.find("\r\n\r\n", pos);
            if (headers_end == npos || (end != npos && headers_end > end))
                return multipart_error("Part headers not terminated");
            headers = body.substr(pos, headers_end - pos);
            pos = headers_end + 4;
            end = body.find(next_delimiter, pos);
        }
        if (end == npos)
            return multipart_error("Closing boundary not found");
        std::string_view content = body.substr(pos, end - pos);
        pos = end + next_delimiter.size();

        if (++parts > max_fields)
            return too_many_fields();

        HeaderValue disposition;
        bool have_disposition = false;
        std::size_t line_start = 0;
        while (line_start < headers.size()) {
            std::size_t line_end = headers.find("\r\n", line_start);
            if (line_end == npos)
                line_end = headers.size();
            std::string_view line = headers.substr(line_start, line_end - line_start);
            line_start = line_end + 2;
            std::size_t colon = line.find(':');
            if (colon == npos)
                return multipart_error("Malformed part header");
            if (!have_disposition && iequals(trim_ows(line.substr(0, colon)), "content-disposition")) {
                disposition = parse_header_value(line.substr(colon + 1));
                have_disposition = true;
            }
        }
        const std::string *name = have_disposition ? disposition.param("name") : nullptr;
        if (name == nullptr)
            continue; /* Django skips parts without a name */
        std::string field_name(strip_whitespace(*name));
        if (!valid_utf8(field_name))
            return multipart_error("Invalid UTF-8 in field name or value");
        const std::string *filename = disposition.param("filename");
        if (filename != nullptr && !filename->empty()) {
            file_fields.push_back(std::move(field_name));
            continue;
        }
        if (!valid_utf8(content))
            return multipart_error("Invalid UTF-8 in field name or value");
        FieldValue &field = out[std::move(field_name)];
        field.kind = FieldValue::Kind::String;
        field.text = std::string(content);
    }
    /* DRF merges the uploaded files into request.data after the fields, so
     * a file shadows a field of the same name; a CharField then says "Not a
     * valid string." */
    for (auto &name : file_fields) {
        FieldValue &field = out[std::move(name)];
        field.kind = FieldValue::Kind::Other;
        field.text.clear();
    }
    return {};
}

/* ---- choosing a parser (DRF's media_type_matches) -------------------------- */

enum class Parser { None, Json, Form, Multipart };

bool media_type_matches(std::string_view parser_type, std::string_view client_type)
{
    std::size_t ps = parser_type.find('/'), cs = client_type.find('/');
    std::string_view pmain = parser_type.substr(0, ps), psub = parser_type.substr(ps + 1);
    std::string_view cmain = client_type.substr(0, cs);
    std::string_view csub = cs == npos ? std::string_view() : client_type.substr(cs + 1);
    if (csub != "*" && csub != psub)
        return false;
    if (cmain != "*" && cmain != pmain)
        return false;
    return true;
}

Parser select_parser(std::string_view type)
{
    if (media_type_matches("application/json", type))
        return Parser::Json;
    if (media_type_matches("application/x-www-form-urlencoded", type))
        return Parser::Form;
    if (media_type_matches("multipart/form-data", type))
        return Parser::Multipart;
    return Parser::None;
}

bool python_float_equals(std::string_view json_number, double wanted)
{
    double d = 0;
    auto r = std::from_chars(json_number.data(), json_number.data() + json_number.size(), d);
    return r.ec == std::errc() && r.ptr == json_number.data() + json_number.size() && d == wanted;
}

bool one_of(std::string_view s, std::initializer_list<std::string_view> list)
{
    for (std::string_view x : list)
        if (s == x)
            return true;
    return false;
}

} // namespace

BodyResult parse_body(std::string_view content_type, std::string_view body, Fields &out, std::size_t max_fields)
{
    HeaderValue type = parse_header_value(content_type);
    Parser parser = select_parser(type.type);
    BodyResult result;
    if (body.empty()) {
        /* DRF never looks at the content type of an empty body */
        result.form = parser == Parser::Form || parser == Parser::Multipart;
        return result;
    }
    switch (parser) {
    case Parser::Json:
        return parse_json(body, out, max_fields);
    case Parser::Form:
        result = parse_form(body, out, max_fields);
        break;
    case Parser::Multipart:
        result = parse_multipart(type, body, out, max_fields);
        break;
    case Parser::None:
        return error(415, json_detail("Unsupported media type \"" + printable(content_type) + "\" in request."));
    }
    result.form = true;
    return result;
}

/* ---- content negotiation ------------------------------------------------ */

bool accepts_json(std::string_view accept, bool present)
{
    if (!present)
        return true; /* DRF's default: an Accept of any type */
    for (;;) {
        std::size_t comma = accept.find(',');
        HeaderValue range = parse_header_value(accept.substr(0, comma));
        if (media_type_matches("application/json", range.type))
            return true;
        if (comma == npos)
            return false;
        accept.remove_prefix(comma + 1);
    }
}

/* ---- reading fields ----------------------------------------------------- */

std::string python_number_str(std::string_view json_number)
{
    bool negative = !json_number.empty() && json_number[0] == '-';
    std::string_view digits = json_number.substr(negative ? 1 : 0);
    bool is_float = digits.find_first_of(".eE") != npos;
    if (!is_float) /* JSON integers have no leading zeros; only "-0" changes */
        return digits == "0" ? std::string("0") : std::string(json_number);

    double d = 0;
    auto r = std::from_chars(json_number.data(), json_number.data() + json_number.size(), d);
    if (r.ec == std::errc::result_out_of_range) {
        /* Python: overflow gives inf, underflow 0.0. The magnitude's
         * decimal exponent decides which. */
        std::size_t e = digits.find_first_of("eE");
        std::string_view mantissa = digits.substr(0, e);
        long exponent = 0; /* saturated: only its sign and size matter */
        if (e != npos) {
            std::string_view et = digits.substr(e + 1);
            bool negative_exponent = et[0] == '-';
            if (et[0] == '+' || et[0] == '-')
                et.remove_prefix(1);
            for (char c : et)
                if (exponent < 1000000)
                    exponent = exponent * 10 + (c - '0');
            if (negative_exponent)
                exponent = -exponent;
        }
        std::size_t first = mantissa.find_first_not_of("0.");
        std::size_t point = mantissa.find('.');
        if (point == npos)
            point = mantissa.size();
        long magnitude = first == npos ? -1000000 : static_cast<long>(point) - static_cast<long>(first);
        if (first != npos && first > point)
            magnitude += 1;
        d = magnitude + exponent > 0 ? HUGE_VAL : 0.0;
        if (negative)
            d = -d;
    }
    if (std::isinf(d))
        return d < 0 ? "-inf" : "inf";
    if (d == 0)
        return std::signbit(d) ? "-0.0" : "0.0";

    /* Shortest round-trip digits, then Python's repr() layout: positional
     * when the decimal exponent is in [-4, 16), else d.ddde+XX. */
    char buf[64];
    auto w = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
    std::string_view sci(buf, static_cast<std::size_t>(w.ptr - buf));
    std::string out;
    if (sci[0] == '-') {
        out += '-';
        sci.remove_prefix(1);
    }
    std::size_t epos = sci.find('e');
    std::string mant;
    for (char c : sci.substr(0, epos))
        if (c != '.')
            mant += c;
    int exp10 = 0;
    std::string_view exp_text = sci.substr(epos + 1);
    if (!exp_text.empty() && exp_text[0] == '+')
        exp_text.remove_prefix(1);
    std::from_chars(exp_text.data(), exp_text.data() + exp_text.size(), exp10);
    int decpt = exp10 + 1; /* value = 0.MANT x 10^decpt */
    int ndigits = static_cast<int>(mant.size());

    if (decpt > -4 && decpt <= 16) {
        if (decpt <= 0) {
            out += "0.";
            out.append(static_cast<std::size_t>(-decpt), '0');
            out += mant;
        } else if (decpt >= ndigits) {
            out += mant;
            out.append(static_cast<std::size_t>(decpt - ndigits), '0');
            out += ".0";
        } else {
            out += mant.substr(0, static_cast<std::size_t>(decpt));
            out += '.';
            out += mant.substr(static_cast<std::size_t>(decpt));
        }
        return out;
    }
    out += mant[0];
    if (ndigits > 1) {
        out += '.';
        out += mant.substr(1);
    }
    int shown = decpt - 1;
    char ebuf[16];
    std::snprintf(ebuf, sizeof ebuf, "e%c%02d", shown < 0 ? '-' : '+', shown < 0 ? -shown : shown);
    out += ebuf;
    return out;
}

std::string_view char_field_message(FieldState state)
{
    switch (state) {
    case FieldState::Ok: return {};
    case FieldState::Missing: return MSG_REQUIRED;
    case FieldState::Null: return MSG_NULL;
    case FieldState::Blank: return MSG_BLANK;
    case FieldState::Invalid: return MSG_NOT_A_STRING;
    case FieldState::NullCharacters: return MSG_NULL_CHARACTERS;
    }
    return {};
}

FieldState get_char_field(const Fields &fields, std::string_view name, std::string &out, bool trim_whitespace)
{
    auto it = fields.find(name);
    if (it == fields.end())
        return FieldState::Missing;
    const FieldValue &v = it->second;
    std::string value;
    switch (v.kind) {
    case FieldValue::Kind::Null: return FieldState::Null;
    case FieldValue::Kind::Bool:
    case FieldValue::Kind::Other: return FieldState::Invalid;
    case FieldValue::Kind::String: value = v.text; break;
    case FieldValue::Kind::Number: value = python_number_str(v.text); break;
    }
    std::string_view stripped = strip_whitespace(value);
    if (value.empty() || (trim_whitespace && stripped.empty())) {
        out.clear();
        return FieldState::Blank;
    }
    out = trim_whitespace ? std::string(stripped) : std::move(value);
    if (out.find('\0') != std::string::npos)
        return FieldState::NullCharacters;
    return FieldState::Ok;
}

FieldState get_bool_field(const Fields &fields, std::string_view name, bool &out)
{
    auto it = fields.find(name);
    if (it == fields.end())
        return FieldState::Missing;
    const FieldValue &v = it->second;
    switch (v.kind) {
    case FieldValue::Kind::Null: return FieldState::Null;
    case FieldValue::Kind::Bool: out = v.boolean; return FieldState::Ok;
    case FieldValue::Kind::Other: return FieldState::Invalid;
    case FieldValue::Kind::Number:
        /* 1 == 1.0 == True and 0 == 0.0 == False in Python */
        if (python_float_equals(v.text, 1.0)) {
            out = true;
            return FieldState::Ok;
        }
        if (python_float_equals(v.text, 0.0)) {
            out = false;
            return FieldState::Ok;
        }
        return FieldState::Invalid;
    case FieldValue::Kind::String:
        if (one_of(v.text, {"t", "T", "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON", "1"})) {
            out = true;
            return FieldState::Ok;
        }
        if (one_of(v.text, {"f", "F", "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF", "0"})) {
            out = false;
            return FieldState::Ok;
        }
        return FieldState::Invalid;
    }
    return FieldState::Invalid;
}

} // namespace restauth
