// Shared helpers for the libFuzzer targets in fuzz/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <cjson/cJSON.h>

namespace fuzz {

// An oracle failure: the code did not crash, but broke a property its
// header promises.  Reported like a crash (abort), with the reason first.
[[noreturn]] inline void fail(const char *file, int line, const char *what)
{
    std::fprintf(stderr, "\n==FUZZ ORACLE== %s:%d: check failed: %s\n", file, line, what);
    std::fflush(stderr);
    std::abort();
}

#define FUZZ_CHECK(cond)                                          \
    do {                                                          \
        if (!(cond)) ::fuzz::fail(__FILE__, __LINE__, #cond);     \
    } while (0)

inline std::string_view view(const uint8_t *data, size_t size)
{
    return {reinterpret_cast<const char *>(data), size};
}

// Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above
// U+10FFFF.  Written independently of the core's decoder on purpose.
inline bool valid_utf8(std::string_view s)
{
    size_t i = 0, n = s.size();
    while (i < n) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        unsigned lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            if (c == 0xE0) lo = 0xA0;
            if (c == 0xED) hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            if (c == 0xF0) lo = 0x90;
            if (c == 0xF4) hi = 0x8F;
        } else {
            return false;
        }
        if (i + len > n) return false;
        for (size_t k = 1; k < len; k++) {
            unsigned char d = static_cast<unsigned char>(s[i + k]);
            unsigned l = k == 1 ? lo : 0x80, h = k == 1 ? hi : 0xBF;
            if (d < l || d > h) return false;
        }
        i += len;
    }
    return true;
}

// The text is one JSON object (as cJSON reads it) and valid UTF-8.
inline bool is_json_object(const std::string &text)
{
    if (!valid_utf8(text)) return false;
    const char *end = nullptr;
    cJSON *root = cJSON_ParseWithLengthOpts(text.c_str(), text.size(), &end, 0);
    bool ok = root != nullptr && cJSON_IsObject(root) && end == text.c_str() + text.size();
    cJSON_Delete(root);
    return ok;
}

}  // namespace fuzz
