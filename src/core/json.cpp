#include "json.h"

namespace restauth {

/* ---- cJSON ---------------------------------------------------------------- */

JsonPtr json_parse(std::string_view text)
{
    return JsonPtr(cJSON_ParseWithLength(text.data(), text.size()));
}

std::string json_print(const cJSON *item)
{
    if (item == nullptr)
        return {};
    char *printed = cJSON_PrintUnformatted(item);
    if (printed == nullptr)
        return {};
    std::string out(printed);
    cJSON_free(printed);
    return out;
}

/* ---- UTF-8 --------------------------------------------------------------- */

Utf8Error utf8_decode(std::string_view s, std::size_t &pos, char32_t &cp)
{
    auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    unsigned char b0 = byte(pos);
    if (b0 < 0x80) {
        cp = b0;
        ++pos;
        return Utf8Error::None;
    }

    std::size_t len;
    unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the 2nd byte */
    if (b0 >= 0xC2 && b0 <= 0xDF) {
        len = 2;
        cp = b0 & 0x1F;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
        len = 3;
        cp = b0 & 0x0F;
        if (b0 == 0xE0)
            lo = 0xA0; /* overlong */
        else if (b0 == 0xED)
            hi = 0x9F; /* surrogates */
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        len = 4;
        cp = b0 & 0x07;
        if (b0 == 0xF0)
            lo = 0x90; /* overlong */
        else if (b0 == 0xF4)
            hi = 0x8F; /* above U+10FFFF */
    } else {
        ++pos;
        return Utf8Error::InvalidStart;
    }

    for (std::size_t i = 1; i < len; ++i) {
        if (pos + i >= s.size()) {
            pos = s.size();
            return Utf8Error::Truncated;
        }
        unsigned char b = byte(pos + i);
        if (b < lo || b > hi) {
            pos += i;
            return Utf8Error::InvalidContinuation;
        }
        cp = (cp << 6) | (b & 0x3F);
        lo = 0x80;
        hi = 0xBF;
    }
    pos += len;
    return Utf8Error::None;
}

void utf8_append(std::string &out, char32_t cp)
{
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

/* ---- writing JSON -------------------------------------------------------- */

void json_append_string(std::string &out, std::string_view s)
{
    static const char hex[] = "0123456789abcdef";
    out += '"';
    std::size_t pos = 0;
    while (pos < s.size()) {
        unsigned char c = static_cast<unsigned char>(s[pos]);
        if (c >= 0x80) {
            std::size_t start = pos;
            char32_t cp;
            if (utf8_decode(s, pos, cp) != Utf8Error::None)
                out += "\xEF\xBF\xBD"; /* U+FFFD */
            else if (cp == 0x2028)
                out += "\\u2028";
            else if (cp == 0x2029)
                out += "\\u2029";
            else
                out.append(s, start, pos - start);
            continue;
        }
        ++pos;
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (c < 0x20) {
                out += "\\u00";
                out += hex[c >> 4];
                out += hex[c & 0x0F];
            } else {
                out += static_cast<char>(c);
            }
        }
    }
    out += '"';
}

std::string json_string(std::string_view s)
{
    std::string out;
    out.reserve(s.size() + 2);
    json_append_string(out, s);
    return out;
}

void JsonWriter::before_value()
{
    if (after_key_) {
        after_key_ = false;
        return;
    }
    if (!has_items_.empty()) {
        if (has_items_.back())
            out_ += ", ";
        has_items_.back() = true;
    }
}

JsonWriter &JsonWriter::open(char bracket)
{
    before_value();
    out_ += bracket;
    has_items_.push_back(false);
    return *this;
}

JsonWriter &JsonWriter::close(char bracket)
{
    out_ += bracket;
    if (!has_items_.empty())
        has_items_.pop_back();
    return *this;
}

JsonWriter &JsonWriter::begin_object() { return open('{'); }
JsonWriter &JsonWriter::end_object() { return close('}'); }
JsonWriter &JsonWriter::begin_array() { return open('['); }
JsonWriter &JsonWriter::end_array() { return close(']'); }

JsonWriter &JsonWriter::key(std::string_view name)
{
    before_value();
    json_append_string(out_, name);
    out_ += ": ";
    after_key_ = true;
    return *this;
}

JsonWriter &JsonWriter::string(std::string_view value)
{
    before_value();
    json_append_string(out_, value);
    return *this;
}

JsonWriter &JsonWriter::number(long long value)
{
    before_value();
    out_ += std::to_string(value);
    return *this;
}

JsonWriter &JsonWriter::boolean(bool value)
{
    before_value();
    out_ += value ? "true" : "false";
    return *this;
}

JsonWriter &JsonWriter::null()
{
    before_value();
    out_ += "null";
    return *this;
}

JsonWriter &JsonWriter::raw(std::string_view json)
{
    before_value();
    out_ += json;
    return *this;
}

/* ---- DRF error shapes ---------------------------------------------------- */

std::string json_detail(std::string_view msg)
{
    JsonWriter w;
    w.begin_object().key("detail").string(msg).end_object();
    return w.take();
}

std::string json_field_error(std::string_view field, std::string_view msg)
{
    FieldErrors errors;
    errors.add(field, msg);
    return errors.to_json();
}

void FieldErrors::add(std::string_view field, std::string_view msg)
{
    for (auto &entry : fields_) {
        if (entry.first == field) {
            entry.second.emplace_back(msg);
            return;
        }
    }
    fields_.emplace_back(std::string(field), std::vector<std::string>{std::string(msg)});
}

void FieldErrors::add(std::string_view field, const std::vector<std::string> &msgs)
{
    for (const auto &msg : msgs)
        add(field, msg);
}

bool FieldErrors::has(std::string_view field) const
{
    for (const auto &entry : fields_)
        if (entry.first == field)
            return true;
    return false;
}

std::string FieldErrors::to_json() const
{
    JsonWriter w;
    w.begin_object();
    for (const auto &entry : fields_) {
        w.key(entry.first).begin_array();
        for (const auto &msg : entry.second)
            w.string(msg);
        w.end_array();
    }
    w.end_object();
    return w.take();
}

} // namespace restauth
