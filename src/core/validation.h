/*
 * Django's validators, with Django's (and DRF's) English messages:
 * password validators, the username validator and the e-mail validator,
 * plus the bits of Python string semantics they rely on (len(), lower(),
 * strip(), isdigit(), the regex class \w).
 *
 * All text is UTF-8; lengths are counted in code points, as Python's len().
 */
#ifndef RESTAUTH_VALIDATION_H
#define RESTAUTH_VALIDATION_H

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace restauth {

/* ---- Python string semantics --------------------------------------------- */

/* len(): code points; an invalid byte counts as one. */
std::size_t utf8_length(std::string_view s);

/* str.isspace() for one code point. */
bool is_unicode_space(char32_t cp);

/* str.strip(): leading and trailing Unicode whitespace removed. */
std::string_view strip_whitespace(std::string_view s);

/*
 * str.lower(), for case-insensitive comparisons (uniqueness of usernames
 * and e-mail addresses, the common-password list, password similarity).
 * Matches Python for every code point below U+2200 and for fullwidth Latin,
 * except polytonic Greek (U+1F00-U+1FFF, left unchanged): Latin, Greek,
 * Cyrillic, Armenian, Georgian, Cherokee, Roman numerals, circled letters,
 * letter-like symbols (Kelvin, Ohm, Angstrom), and U+0130 becomes
 * "i\u0307". Not covered: cased letters of other blocks (Glagolitic,
 * Coptic, Deseret...), and the context-dependent final sigma (Python
 * writes a final capital sigma as U+03C2; this writes U+03C3). Invalid
 * bytes are copied unchanged.
 */
std::string fold_case(std::string_view s);

/*
 * The regex class \w of Python's re for str patterns (str.isalnum() or
 * '_'). Exact for ASCII and Latin-1; above that an approximation: the
 * blocks of punctuation, symbols, spaces, format and combining characters,
 * private use and emoji are not word characters, the rest are. It is
 * stricter than Python for the letter-like symbols (U+2100-U+214F) and
 * two Arabic signs, and more lenient for combining marks outside the
 * generic combining blocks (e.g. Indic vowel signs) and for scattered
 * punctuation and symbols inside the scripts' own blocks.
 */
bool is_word_char(char32_t cp);

/* str.isdigit(): non-empty and every code point a digit (ASCII, the
 * decimal digits of other scripts, superscripts, circled digits...). */
bool is_numeric_string(std::string_view s);

/* ---- messages ------------------------------------------------------------ */

inline constexpr std::string_view MSG_PASSWORD_TOO_COMMON = "This password is too common.";
inline constexpr std::string_view MSG_PASSWORD_ENTIRELY_NUMERIC = "This password is entirely numeric.";
inline constexpr std::string_view MSG_INVALID_USERNAME =
    "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.";
inline constexpr std::string_view MSG_INVALID_EMAIL = "Enter a valid email address.";

/* "This password is too short. It must contain at least 8 characters."
 * ("character" when min_length is 1) */
std::string password_too_short_message(std::size_t min_length);
/* "The password is too similar to the <verbose_name>." */
std::string password_too_similar_message(std::string_view verbose_name);
/* DRF CharField: "Ensure this field has no more than 150 characters." */
std::string max_length_message(std::size_t max_length);
/* DRF CharField: "Ensure this field has at least 2 characters." */
std::string min_length_message(std::size_t min_length);

/* ---- common passwords ------------------------------------------------------ */

/*
 * A set of common passwords, stored lower-cased. The built-in list is
 * compiled into the library (src/data/common-passwords.txt, see
 * src/data/README.md).
 */
class CommonPasswords {
public:
    CommonPasswords() = default;

    static const CommonPasswords &builtin();

    /* Replaces the contents with the file's: one password per line, blank
     * lines and lines starting with "#!comment:" ignored, each entry
     * stripped and lower-cased. Reads the file synchronously: call it at
     * configuration time. On failure returns false, sets `error` and keeps
     * the old contents. */
    bool load_file(const std::string &path, std::string &error);

    /* As Django: password.lower().strip() is in the list. */
    bool contains(std::string_view password) const;

    std::size_t size() const { return words_.size(); }

private:
    void assign(std::vector<std::string> words);

    std::vector<std::string> words_; /* sorted, unique */
};

/* ---- passwords --------------------------------------------------------------- */

/* The user attributes the similarity check compares the password with. */
struct UserAttributes {
    std::string_view username;
    std::string_view first_name;
    std::string_view last_name;
    std::string_view email;
};

struct PasswordPolicy {
    std::size_t min_length = 8;      /* MinimumLengthValidator; 0 disables */
    bool check_common = true;        /* CommonPasswordValidator */
    const CommonPasswords *common = nullptr; /* null: builtin() */
    bool check_numeric = true;       /* NumericPasswordValidator */
    bool check_similarity = true;    /* UserAttributeSimilarityValidator */
    double max_similarity = 0.7;
};

/*
 * Runs Django's password validators and returns every failure's message,
 * in this order: too short, too common, entirely numeric, too similar.
 * The similarity check runs only when `user` is given; it reports the
 * first attribute (username, first name, last name, e-mail address) that
 * is too similar, as Django stops at the first.
 */
std::vector<std::string> validate_password(std::string_view password, const UserAttributes *user,
                                           const PasswordPolicy &policy = PasswordPolicy());

/* ---- usernames ------------------------------------------------------------- */

/* Django's UnicodeUsernameValidator: ^[\w.@+-]+\Z */
bool is_valid_username(std::string_view username);

/*
 * The username checks of dj-rest-auth's registration: the serializer's
 * max_length first; the username validator only when the length is fine
 * (DRF skips validate_username() once a field validator failed). Returns
 * no message, or one.
 *
 * PUT/PATCH user/ (a ModelSerializer) collects instead, in this order:
 * MSG_INVALID_USERNAME, the uniqueness message, max_length_message(150).
 */
std::vector<std::string> validate_username(std::string_view username, std::size_t max_length = 150);

/* ---- e-mail addresses ------------------------------------------------------- */

/*
 * Django's EmailValidator: at most 320 characters; a local part that is a
 * dot-atom or a quoted string (ASCII); a domain of dot-separated labels
 * (letters, digits, '-' not at either end, at most 63 each) ending in a
 * label of 2 to 63 letters, digits and '-', or "localhost", or an IPv4 or
 * IPv6 literal in brackets. Internationalised domains are converted to
 * punycode first (lower-cased; characters other than letters, digits and
 * '-' rejected, an approximation of IDNA's nameprep).
 * Pass the value after CharField trimming. DRF's EmailField reports
 * MSG_NULL_CHARACTERS before MSG_INVALID_EMAIL when both apply.
 */
bool is_valid_email(std::string_view email);

/* Django's BaseUserManager.normalize_email(): strip, then lower-case the
 * domain part; returned unchanged when there is no '@'. */
std::string normalize_email(std::string_view email);

} // namespace restauth

#endif
