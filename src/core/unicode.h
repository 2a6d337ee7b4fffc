/*
 * Unicode normalisation, from ICU (libicu, Debian's libicu-dev): the tables
 * come from the library, which follows the Unicode Character Database, not
 * from a list kept here.
 */
#ifndef RESTAUTH_UNICODE_H
#define RESTAUTH_UNICODE_H

#include <string>
#include <string_view>

namespace restauth {

/*
 * Normalization Form KC of UTF-8 text: Python's
 * unicodedata.normalize('NFKC', s). Fullwidth and halfwidth forms,
 * ligatures (U+FB01 "fi"), superscripts, circled and other compatibility
 * characters become their plain equivalents; composed and decomposed
 * accents become the composed form.
 *
 * Returns false, leaving `out` empty, when `s` is not well-formed UTF-8
 * (stray continuation bytes, overlong forms, surrogates, code points above
 * U+10FFFF, truncated sequences) or ICU fails.
 */
bool nfkc_normalize(std::string_view s, std::string &out);

/*
 * Django's AbstractBaseUser.normalize_username() (NFKC), applied to every
 * username the API stores (registration, PUT/PATCH user/) and to the name
 * given at login. Returns false on ill-formed UTF-8, like nfkc_normalize().
 */
bool normalize_username(std::string_view username, std::string &out);

} // namespace restauth

#endif
