#include "encoding.h"

#include <cstdint>

namespace restauth {

namespace {

// Table lookups indexed by secret bytes leak those bytes through cache
// timing, and so do branches on them.  The helpers below compute the
// mappings with masks instead.

// All ones when lo <= c <= hi, else zero.  Arguments are below 2^31, so
// (c - lo) and (hi - c) have the top bit set exactly when c is out of range.
inline uint32_t range_mask(uint32_t c, uint32_t lo, uint32_t hi)
{
    uint32_t outside = ((c - lo) | (hi - c)) >> 31;
    return outside - 1u;
}

// Alphabet positions 62 and 63 are the only difference between the two
// base64 flavours.
struct Alphabet {
    uint32_t c62;
    uint32_t c63;
};

constexpr Alphabet kStandard{'+', '/'};
constexpr Alphabet kUrl{'-', '_'};

inline char encode_sextet(uint32_t v, Alphabet a)
{
    uint32_t c = 0;
    c |= range_mask(v, 0, 25) & (v + 'A');
    c |= range_mask(v, 26, 51) & (v - 26 + 'a');
    c |= range_mask(v, 52, 61) & (v - 52 + '0');
    c |= range_mask(v, 62, 62) & a.c62;
    c |= range_mask(v, 63, 63) & a.c63;
    return static_cast<char>(c);
}

// The 6-bit value of c, with bit 8 set when c is not in the alphabet.
inline uint32_t decode_sextet(unsigned char ch, Alphabet a)
{
    uint32_t c = ch;
    uint32_t v = 0, valid = 0, m;
    m = range_mask(c, 'A', 'Z');
    v |= m & (c - 'A');
    valid |= m;
    m = range_mask(c, 'a', 'z');
    v |= m & (c - 'a' + 26);
    valid |= m;
    m = range_mask(c, '0', '9');
    v |= m & (c - '0' + 52);
    valid |= m;
    m = range_mask(c, a.c62, a.c62);
    v |= m & 62;
    valid |= m;
    m = range_mask(c, a.c63, a.c63);
    v |= m & 63;
    valid |= m;
    return v | (~valid & 0x100);
}

std::string encode(std::string_view in, Alphabet a, bool pad)
{
    const auto *p = reinterpret_cast<const unsigned char *>(in.data());
    const size_t n = in.size();
    std::string out;
    out.reserve((n + 2) / 3 * 4);
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t w = uint32_t(p[i]) << 16 | uint32_t(p[i + 1]) << 8 | p[i + 2];
        out += encode_sextet(w >> 18, a);
        out += encode_sextet((w >> 12) & 63, a);
        out += encode_sextet((w >> 6) & 63, a);
        out += encode_sextet(w & 63, a);
    }
    if (n - i == 1) {
        uint32_t w = uint32_t(p[i]) << 16;
        out += encode_sextet(w >> 18, a);
        out += encode_sextet((w >> 12) & 63, a);
        if (pad) out += "==";
    } else if (n - i == 2) {
        uint32_t w = uint32_t(p[i]) << 16 | uint32_t(p[i + 1]) << 8;
        out += encode_sextet(w >> 18, a);
        out += encode_sextet((w >> 12) & 63, a);
        out += encode_sextet((w >> 6) & 63, a);
        if (pad) out += '=';
    }
    return out;
}

// Decodes unpadded text.  Runs to the end even after a bad character so the
// time taken does not reveal where the first one was.
bool decode_unpadded(std::string_view in, Alphabet a, std::string &out)
{
    const size_t n = in.size();
    const size_t tail = n % 4;
    // One leftover character carries 6 bits: not even a whole byte.
    if (tail == 1) return false;

    std::string buf;
    buf.resize(n / 4 * 3 + (tail ? tail - 1 : 0));
    uint32_t bad = 0;
    size_t o = 0, i = 0;
    for (; i + 4 <= n; i += 4) {
        uint32_t s0 = decode_sextet(in[i], a), s1 = decode_sextet(in[i + 1], a);
        uint32_t s2 = decode_sextet(in[i + 2], a), s3 = decode_sextet(in[i + 3], a);
        bad |= s0 | s1 | s2 | s3;
        uint32_t w = (s0 & 63) << 18 | (s1 & 63) << 12 | (s2 & 63) << 6 | (s3 & 63);
        buf[o++] = static_cast<char>(w >> 16);
        buf[o++] = static_cast<char>(w >> 8);
        buf[o++] = static_cast<char>(w);
    }
    uint32_t stray = 0;
    if (tail == 2) {
        uint32_t s0 = decode_sextet(in[i], a), s1 = decode_sextet(in[i + 1], a);
        bad |= s0 | s1;
        // 12 bits for one byte: the low 4 must be zero, or "Zg" and "Zh"
        // would both mean "f".
        stray = s1 & 0x0f;
        buf[o++] = static_cast<char>((s0 & 63) << 2 | (s1 & 63) >> 4);
    } else if (tail == 3) {
        uint32_t s0 = decode_sextet(in[i], a), s1 = decode_sextet(in[i + 1], a);
        uint32_t s2 = decode_sextet(in[i + 2], a);
        bad |= s0 | s1 | s2;
        stray = s2 & 0x03;
        uint32_t w = (s0 & 63) << 12 | (s1 & 63) << 6 | (s2 & 63);
        buf[o++] = static_cast<char>(w >> 10);
        buf[o++] = static_cast<char>(w >> 2);
    }
    if (((bad & 0x100) | stray) != 0) return false;
    out.swap(buf);
    return true;
}


// base64url for public data (JWS parts, Django's uid): a lookup table, one
// load per character.  The table is indexed by the input, so unlike the
// decoder above it is not for secrets.
struct UrlTable {
    uint8_t v[256];
    constexpr UrlTable() : v()
    {
        for (int c = 0; c < 256; c++) v[c] = 0x80;  // outside the alphabet
        for (int i = 0; i < 26; i++) {
            v['A' + i] = static_cast<uint8_t>(i);
            v['a' + i] = static_cast<uint8_t>(26 + i);
        }
        for (int i = 0; i < 10; i++) v['0' + i] = static_cast<uint8_t>(52 + i);
        v['-'] = 62;
        v['_'] = 63;
    }
};
constexpr UrlTable kUrlTable;

inline uint32_t url_sextet(char c)
{
    return kUrlTable.v[static_cast<unsigned char>(c)];
}

// Same rules as decode_unpadded with the URL alphabet; out has room for
// base64url_decoded_size(in.size()) bytes.
bool decode_url(std::string_view in, unsigned char *out)
{
    const size_t n = in.size();
    const size_t tail = n % 4;
    if (tail == 1) return false;
    const char *p = in.data();
    uint32_t bad = 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        uint32_t s0 = url_sextet(p[i]), s1 = url_sextet(p[i + 1]);
        uint32_t s2 = url_sextet(p[i + 2]), s3 = url_sextet(p[i + 3]);
        bad |= s0 | s1 | s2 | s3;
        uint32_t w = s0 << 18 | s1 << 12 | s2 << 6 | s3;
        *out++ = static_cast<unsigned char>(w >> 16);
        *out++ = static_cast<unsigned char>(w >> 8);
        *out++ = static_cast<unsigned char>(w);
    }
    uint32_t stray = 0;
    if (tail == 2) {
        uint32_t s0 = url_sextet(p[i]), s1 = url_sextet(p[i + 1]);
        bad |= s0 | s1;
        stray = s1 & 0x0f;
        *out = static_cast<unsigned char>(s0 << 2 | (s1 & 63) >> 4);
    } else if (tail == 3) {
        uint32_t s0 = url_sextet(p[i]), s1 = url_sextet(p[i + 1]), s2 = url_sextet(p[i + 2]);
        bad |= s0 | s1 | s2;
        stray = s2 & 0x03;
        uint32_t w = s0 << 12 | s1 << 6 | s2;
        *out++ = static_cast<unsigned char>(w >> 10);
        *out = static_cast<unsigned char>(w >> 2);
    }
    // An invalid character sets bit 7 of its entry and so of `bad`; its
    // other bits are then irrelevant.
    return ((bad & 0x80) | stray) == 0;
}

}  // namespace

std::string base64url_encode(std::string_view in) noexcept
{
    try {
        return encode(in, kUrl, false);
    } catch (...) {
        return {};
    }
}

size_t base64url_decoded_size(size_t n) noexcept
{
    return n / 4 * 3 + (n % 4 > 1 ? n % 4 - 1 : 0);
}

bool base64url_decode(std::string_view in, std::string &out) noexcept
{
    out.clear();
    try {
        std::string buf(base64url_decoded_size(in.size()), '\0');
        if (!decode_url(in, reinterpret_cast<unsigned char *>(buf.data()))) return false;
        out.swap(buf);
        return true;
    } catch (...) {
        return false;
    }
}

bool base64url_decode(std::string_view in, unsigned char *out, size_t cap, size_t &len) noexcept
{
    len = 0;
    size_t need = base64url_decoded_size(in.size());
    if (need > cap || !decode_url(in, out)) return false;
    len = need;
    return true;
}

std::string base64_encode(std::string_view in) noexcept
{
    try {
        return encode(in, kStandard, true);
    } catch (...) {
        return {};
    }
}

bool base64_decode(std::string_view in, std::string &out) noexcept
{
    out.clear();
    if (in.size() % 4 != 0) return false;
    size_t pad = 0;
    if (!in.empty() && in.back() == '=') {
        pad = 1;
        if (in.size() >= 2 && in[in.size() - 2] == '=') pad = 2;
    }
    // Any other '=' (a third one, or one in the middle) is outside the
    // alphabet and fails below.
    try {
        return decode_unpadded(in.substr(0, in.size() - pad), kStandard, out);
    } catch (...) {
        return false;
    }
}

std::string hex_encode(std::string_view in) noexcept
{
    try {
        std::string out;
        out.reserve(in.size() * 2);
        for (unsigned char b : in) {
            for (uint32_t nib : {uint32_t(b >> 4), uint32_t(b & 15)}) {
                // '0'..'9', then skip the 39 characters between '9' and 'a'.
                out += static_cast<char>(nib + '0' + (range_mask(nib, 10, 15) & 39));
            }
        }
        return out;
    } catch (...) {
        return {};
    }
}

}  // namespace restauth
