// Binary-to-text encodings: base64url (JWT), base64 (Django hashes), hex.
//
// The decoders are strict: every input has exactly one accepted spelling, so
// two different strings never decode to the same bytes.  The encoders and
// base64_decode run in time that depends on the length only, not on the
// bytes, because they also handle secrets (HMAC keys, password hashes,
// session ids).  base64url_decode is table-driven and only for data that
// is not secret: the parts of a JWS, Django's uid.
//
// None of these throw.  An encoder returns "" only for empty input or when
// memory runs out; callers that cannot tell the two apart from context
// should check.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace restauth {

// RFC 4648 section 5, without padding (as JWS requires).
std::string base64url_encode(std::string_view in) noexcept;

// Accepts only what base64url_encode produces: no '=', no whitespace, no
// characters outside [A-Za-z0-9_-], no length of the form 4n+1, and zero
// unused bits in the last character.  On failure `out` is left empty.
bool base64url_decode(std::string_view in, std::string &out) noexcept;

// The same into a caller's buffer: false, with len 0, when the input is
// not strict base64url or its bytes would not fit in cap.
bool base64url_decode(std::string_view in, unsigned char *out, size_t cap, size_t &len) noexcept;

// How many bytes n characters of valid unpadded base64 decode to.
size_t base64url_decoded_size(size_t n) noexcept;

// RFC 4648 section 4, with '=' padding (as Python's base64.b64encode).
std::string base64_encode(std::string_view in) noexcept;

// Accepts only what base64_encode produces: length a multiple of 4, padding
// only at the end and exactly as needed, zero unused bits.
bool base64_decode(std::string_view in, std::string &out) noexcept;

// Lower-case hex.
std::string hex_encode(std::string_view in) noexcept;

}  // namespace restauth
