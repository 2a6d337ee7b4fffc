/*
 * Request bodies, read the way DRF's parsers read them (JSONParser,
 * FormParser, MultiPartParser), and DRF's CharField/BooleanField rules for
 * reading one field.
 *
 * Only the top level of a JSON object becomes Fields; nested arrays and
 * objects are validated and kept as Kind::Other. Every string in Fields is
 * valid UTF-8, but may contain NUL characters: get_char_field() reports
 * those the way DRF does, so read fields through it.
 */
#ifndef RESTAUTH_BODY_H
#define RESTAUTH_BODY_H

#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace restauth {

struct FieldValue {
    enum class Kind { String, Null, Bool, Number, Other };
    Kind kind = Kind::String;
    /* String: the decoded value. Number: the number as written in the
     * JSON text. Other: the raw JSON text of the array or object. */
    std::string text;
    bool boolean = false; /* Bool only */
};

using Fields = std::map<std::string, FieldValue, std::less<>>;

struct BodyResult {
    int status = 0;         /* 0 = ok; else 400, 413 or 415 */
    std::string error_json; /* the response body when status != 0 */
    /* The body was a form (urlencoded or multipart), DRF's "HTML input":
     * some DRF fields treat missing or empty form values specially. */
    bool form = false;
};

inline constexpr std::size_t DEFAULT_MAX_FIELDS = 64;
/* Containers that may be nested in a JSON body, the top-level object
 * included. */
inline constexpr std::size_t MAX_JSON_DEPTH = 32;

/*
 * Parses a request body according to its Content-Type header value
 * (`content_type` is the whole header, "" when absent).
 *
 *  - empty body: ok, no fields, whatever the content type;
 *  - application/json (parameters such as charset ignored; UTF-8 only):
 *    malformed -> 400 {"detail": "JSON parse error - <reason>"} with
 *    Python's json/utf-8 reasons and positions; not an object -> 400
 *    {"non_field_errors": ["Invalid data. Expected a dictionary, but got
 *    <type>."]}, except null -> {"non_field_errors": ["No data provided"]}
 *    (as DRF's Serializer.errors); duplicate keys: the last wins;
 *  - application/x-www-form-urlencoded: '+' is a space, %XX decoded,
 *    malformed escapes kept literally, the last of repeated keys wins;
 *    invalid UTF-8 -> 400 {"detail": "Form parse error - ..."};
 *  - multipart/form-data; boundary=...: form-data parts by name, file parts
 *    (a non-empty filename) and parts without a name skipped; malformed ->
 *    400 {"detail": "Multipart form parse error - <reason>"};
 *  - anything else, or no Content-Type -> 415
 *    {"detail": "Unsupported media type \"<header>\" in request."}.
 *  As in DRF, a "*" type or subtype in the header selects the first parser
 *  that matches (JSON, then form, then multipart).
 *  More than max_fields top-level members, pairs or parts -> 413
 *  {"detail": "Too many fields in request body."}.
 *
 * `out` receives the fields; on error it may hold some of them.
 */
BodyResult parse_body(std::string_view content_type, std::string_view body, Fields &out,
                      std::size_t max_fields = DEFAULT_MAX_FIELDS);

/* ---- content negotiation (DRF's DefaultContentNegotiation) --------------- */

/*
 * Whether a request with this Accept header (`present` false: none, which
 * DRF takes as accepting anything) can be answered in JSON, as DRF decides
 * it with JSONRenderer as the only renderer: the header is split at ','; a
 * media range matches application/json when its type and its subtype are
 * each equal to ours (letter case ignored) or "*".  Parameters are ignored,
 * q included (even q=0, as in DRF), and so is the order.  An empty header,
 * or "*" without a subtype, matches nothing.  false: the endpoint answers
 * 406 {"detail": "Could not satisfy the request Accept header."}.
 */
bool accepts_json(std::string_view accept, bool present);

/* ---- reading fields (DRF CharField / BooleanField) ----------------------- */

enum class FieldState {
    Ok,
    Missing,        /* MSG_REQUIRED */
    Null,           /* MSG_NULL */
    Blank,          /* MSG_BLANK; out is "" */
    Invalid,        /* MSG_NOT_A_STRING / MSG_NOT_A_BOOLEAN */
    NullCharacters, /* MSG_NULL_CHARACTERS; out holds the value */
};

inline constexpr std::string_view MSG_REQUIRED = "This field is required.";
inline constexpr std::string_view MSG_BLANK = "This field may not be blank.";
inline constexpr std::string_view MSG_NULL = "This field may not be null.";
inline constexpr std::string_view MSG_NOT_A_STRING = "Not a valid string.";
inline constexpr std::string_view MSG_NULL_CHARACTERS = "Null characters are not allowed.";
inline constexpr std::string_view MSG_NOT_A_BOOLEAN = "Must be a valid boolean.";

/* The message DRF gives for a state of get_char_field() ("" for Ok). */
std::string_view char_field_message(FieldState state);

/*
 * DRF CharField(allow_blank=False, allow_null=False) semantics:
 * missing -> Missing; null -> Null; true/false, arrays, objects -> Invalid;
 * numbers become Python's str() of the number ("1.50" -> "1.5", "1e5" ->
 * "100000.0", "-0" -> "0"); with trim_whitespace the value is stripped of
 * leading/trailing whitespace (Python str.strip()); then "" -> Blank.
 * A value containing U+0000 -> NullCharacters (DRF's
 * ProhibitNullCharactersValidator), with the value in `out` so that
 * length validators, which DRF runs first, can still be checked.
 * `out` is set for Ok, Blank and NullCharacters only.
 */
FieldState get_char_field(const Fields &fields, std::string_view name, std::string &out,
                          bool trim_whitespace = true);

/*
 * DRF BooleanField: true/false, 1/0 (also 1.0/0.0) and the strings
 * "true"/"false", "t"/"f", "yes"/"no", "y"/"n", "on"/"off", "1"/"0" (in
 * lower, Capitalised or UPPER case) -> Ok; null, "null" or "" -> Null;
 * missing -> Missing; anything else -> Invalid (MSG_NOT_A_BOOLEAN).
 */
FieldState get_bool_field(const Fields &fields, std::string_view name, bool &out);

/* Python's str() of a JSON number's value: "-0" -> "0", "1E5" ->
 * "100000.0", "1e16" -> "1e+16", "1e400" -> "inf". `json_number` must be a
 * valid JSON number. */
std::string python_number_str(std::string_view json_number);

} // namespace restauth

#endif
