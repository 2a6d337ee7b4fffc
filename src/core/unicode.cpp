#include "unicode.h"

#include <unicode/unorm2.h>
#include <unicode/ustring.h>
#include <unicode/utypes.h>

#include <cstdint>
#include <utility>
#include <vector>

namespace restauth {

namespace {

bool is_ascii(std::string_view s)
{
    for (unsigned char c : s) {
        if (c >= 0x80) return false;
    }
    return true;
}

} // namespace

bool nfkc_normalize(std::string_view s, std::string &out)
{
    out.clear();
    // ASCII is its own NFKC (no ASCII character has a decomposition, and
    // none combines): most names never reach ICU.
    if (is_ascii(s)) {
        out.assign(s);
        return true;
    }
    if (s.size() > INT32_MAX / 4) return false;

    UErrorCode err = U_ZERO_ERROR;
    const UNormalizer2 *nfkc = unorm2_getNFKCInstance(&err);
    if (U_FAILURE(err) || nfkc == nullptr) return false;

    // UTF-8 -> UTF-16: at most one UTF-16 unit per byte. No substitution
    // character: an ill-formed sequence is U_INVALID_CHAR_FOUND.
    std::vector<UChar> in(s.size() + 1);
    int32_t in_len = 0;
    u_strFromUTF8(in.data(), static_cast<int32_t>(in.size()), &in_len, s.data(), static_cast<int32_t>(s.size()),
                  &err);
    if (U_FAILURE(err)) return false;

    // NFKC expands a code point to at most 18 (U+FDFA); try the input's
    // size first and grow once to the size ICU asks for.
    std::vector<UChar> norm(static_cast<std::size_t>(in_len) * 2 + 16);
    int32_t norm_len = unorm2_normalize(nfkc, in.data(), in_len, norm.data(), static_cast<int32_t>(norm.size()), &err);
    if (err == U_BUFFER_OVERFLOW_ERROR) {
        err = U_ZERO_ERROR;
        norm.resize(static_cast<std::size_t>(norm_len) + 1);
        norm_len = unorm2_normalize(nfkc, in.data(), in_len, norm.data(), static_cast<int32_t>(norm.size()), &err);
    }
    if (U_FAILURE(err)) return false;

    int32_t out_len = 0;
    u_strToUTF8(nullptr, 0, &out_len, norm.data(), norm_len, &err);
    if (err != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(err)) return false;
    err = U_ZERO_ERROR;
    std::string result(static_cast<std::size_t>(out_len), '\0');
    u_strToUTF8(result.data(), out_len, &out_len, norm.data(), norm_len, &err);
    // Filling the buffer exactly leaves no room for a terminator: ICU says
    // so with U_STRING_NOT_TERMINATED_WARNING, which is no failure.
    if (U_FAILURE(err)) return false;
    result.resize(static_cast<std::size_t>(out_len));
    out = std::move(result);
    return true;
}

bool normalize_username(std::string_view username, std::string &out)
{
    return nfkc_normalize(username, out);
}

} // namespace restauth
