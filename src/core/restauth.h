/*
 * The one C header between the nginx shim and the C++ core.
 *
 * The core is "sans-IO": a call (one API request) tells the shim what it
 * needs next -- a batch of Redis commands, or a CPU-heavy job for the thread
 * pool -- and the shim performs it and feeds the result back.  Nothing here
 * knows nginx types; nothing here blocks.
 */

#ifndef RESTAUTH_H_INCLUDED
#define RESTAUTH_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define RESTAUTH_API __attribute__((visibility("default")))
#else
#define RESTAUTH_API
#endif

struct redisReply;

typedef struct {
    const char  *data;
    size_t       len;
} restauth_str_t;


/* ---- keys --------------------------------------------------------------- */

typedef struct restauth_keyset_s  restauth_keyset_t;

RESTAUTH_API restauth_keyset_t *restauth_keyset_create(void);
RESTAUTH_API void restauth_keyset_destroy(restauth_keyset_t *ks);
/* alg: "HS256" ... "EdDSA"; material: secret bytes or PEM.  0 on success,
 * else -1 with a message in err. */
RESTAUTH_API int restauth_keyset_add(restauth_keyset_t *ks, restauth_str_t alg,
    restauth_str_t material, restauth_str_t kid, char *err, size_t errlen);
RESTAUTH_API size_t restauth_keyset_size(const restauth_keyset_t *ks);


/* ---- settings ------------------------------------------------------------ */

enum {
    RESTAUTH_VERIFY_NONE = 0,
    RESTAUTH_VERIFY_OPTIONAL,
    RESTAUTH_VERIFY_MANDATORY
};

enum {
    RESTAUTH_TOKENS_JWT = 0,
    RESTAUTH_TOKENS_OPAQUE            /* DRF TokenAuthentication */
};

/*
 * Every setting the core takes from nginx.conf, with its default.  This is
 * the one place a default lives: the shim declares its conf fields, marks
 * them unset, merges them and hands them over from these lists, and the
 * core's restauth::Settings is built from them too.
 *
 *   X(type, name, default)
 *
 * type  C (restauth_settings_t)   nginx conf     core (restauth::Settings)
 * STR   restauth_str_t            ngx_str_t      std::string
 * SEC   int64_t                   time_t         int64_t (seconds)
 * UINT  unsigned                  ngx_uint_t     unsigned
 * FLAG  int                       ngx_flag_t     bool
 * VERIFY, TOKENS: int             ngx_uint_t     EmailVerification, TokenMode
 */

/* restauth_redis and restauth_redis_db, which only the shim reads; here so
 * that the operator scripts (scripts/restauth_defaults.py) read them too */
#define RESTAUTH_DEFAULT_REDIS     "127.0.0.1:6379"
#define RESTAUTH_DEFAULT_REDIS_DB  0

/* http{} level */
#define RESTAUTH_MAIN_SETTINGS(X)                                             \
    X(STR,    redis_prefix,               "restauth:")                        \
    X(STR,    mail_stream,                "restauth:mail")                    \
    X(UINT,   mail_stream_maxlen,         10000)                              \
    X(STR,    common_passwords,           "")                                 \
    X(UINT,   password_iterations,        600000)

/* server{} level (a few also location{}); the command table names the
 * directive of each. */
#define RESTAUTH_LOC_SETTINGS(X)                                              \
    X(SEC,    access_lifetime,            300)                                \
    X(SEC,    refresh_lifetime,           86400)                              \
    X(SEC,    leeway,                     0)                                  \
    X(STR,    issuer,                     "")                                 \
    X(STR,    audience,                   "")                                 \
    X(STR,    jwt_claims,                 "username email")                   \
    X(SEC,    reset_token_lifetime,       86400)                              \
    X(SEC,    verify_token_lifetime,      3 * 86400)                          \
    X(STR,    cookie_access,              "")                                 \
    X(STR,    cookie_refresh,             "")                                 \
    X(STR,    cookie_refresh_path,        "/")                                \
    X(STR,    cookie_domain,              "")                                 \
    X(STR,    cookie_samesite,            "Lax")                              \
    X(FLAG,   cookie_httponly,            1)                                  \
    X(FLAG,   cookie_secure,              0)                                  \
    X(VERIFY, email_verification,         RESTAUTH_VERIFY_OPTIONAL)           \
    X(STR,    password_reset_url,         "")                                 \
    X(STR,    email_verify_url,           "")                                 \
    X(UINT,   password_min_length,        8)                                  \
    X(FLAG,   old_password_field,         0)                                  \
    X(FLAG,   logout_on_password_change,  1)                                  \
    X(UINT,   max_sessions_per_user,      100)                                \
    X(FLAG,   csrf,                       1)                                  \
    X(STR,    csrf_secret,                "")                                 \
    X(STR,    csrf_trusted_origins,       "")                                 \
    X(TOKENS, token_mode,                 RESTAUTH_TOKENS_JWT)

/* restauth_rate_limit <kind> <count> <window>:  X(ID, kind, count, window);
 * a count of 0 turns the limit off. */
#define RESTAUTH_LIMITS(X)                                                    \
    X(LOGIN_IP,         login_ip,         100,  900)   /* failed logins */     \
    X(LOGIN_ACCOUNT,    login_account,    10,   900)   /* per login name */    \
    X(REGISTRATION_IP,  registration_ip,  50,   3600)                         \
    X(MAIL_ADDRESS,     mail_address,     5,    3600)  /* reset/verify mail */ \
    X(MAIL_IP,          mail_ip,          50,   3600)

enum {
#define RESTAUTH_LIMIT_ID(id, kind, count, window)  RESTAUTH_LIMIT_##id,
    RESTAUTH_LIMITS(RESTAUTH_LIMIT_ID)
#undef RESTAUTH_LIMIT_ID
    RESTAUTH_LIMIT_COUNT
};

typedef restauth_str_t  restauth_setting_STR;
typedef int64_t         restauth_setting_SEC;
typedef unsigned        restauth_setting_UINT;
typedef int             restauth_setting_FLAG;
typedef int             restauth_setting_VERIFY;
typedef int             restauth_setting_TOKENS;

typedef struct {
#define RESTAUTH_SETTING_FIELD(type, name, def)  restauth_setting_##type name;
    RESTAUTH_MAIN_SETTINGS(RESTAUTH_SETTING_FIELD)
    RESTAUTH_LOC_SETTINGS(RESTAUTH_SETTING_FIELD)
#undef RESTAUTH_SETTING_FIELD
    /* indexed by RESTAUTH_LIMIT_*; count 0 = off */
    unsigned         limit_count[RESTAUTH_LIMIT_COUNT];
    int64_t          limit_window[RESTAUTH_LIMIT_COUNT];
} restauth_settings_t;

/* Fills every field with its default from the lists above. */
RESTAUTH_API void restauth_settings_defaults(restauth_settings_t *s);


/* ---- an API location's immutable configuration -------------------------- */

typedef struct restauth_api_s  restauth_api_t;

/* The keyset must outlive the api object. NULL on error (message in err). */
RESTAUTH_API restauth_api_t *restauth_api_create(const restauth_settings_t *s,
    const restauth_keyset_t *keys, char *err, size_t errlen);
RESTAUTH_API void restauth_api_destroy(restauth_api_t *api);


/* ---- one API request ----------------------------------------------------- */

typedef struct {
    restauth_str_t   method;
    restauth_str_t   path;          /* below the location, e.g. "login/" */
    restauth_str_t   content_type;
    restauth_str_t   authorization;
    restauth_str_t   cookie;
    restauth_str_t   csrf_header;
    restauth_str_t   user_agent;
    restauth_str_t   client_ip;
    restauth_str_t   body;
    restauth_str_t   accept;        /* Accept headers, joined with ", " */
    restauth_str_t   host;          /* Host header (CSRF origin checks) */
    restauth_str_t   origin;        /* Origin header */
    restauth_str_t   referer;       /* Referer header */
    int              secure;        /* the request came over TLS */
    int64_t          now;           /* unix time, seconds */
    int              authorization_count; /* how many Authorization headers */
    int              accept_count;  /* how many Accept headers (0: none) */
} restauth_request_t;

typedef struct restauth_call_s  restauth_call_t;

typedef enum {
    RESTAUTH_NEED_REDIS = 1,    /* run restauth_call_redis_*() commands */
    RESTAUTH_NEED_JOB,          /* run restauth_call_run_job() off-loop */
    RESTAUTH_DONE               /* the response is ready */
} restauth_need_t;

enum {
    RESTAUTH_LOG_ERR = 1,
    RESTAUTH_LOG_WARN,
    RESTAUTH_LOG_INFO,
    RESTAUTH_LOG_DEBUG
};

/* Copies what it needs from req.  NULL only when out of memory. */
RESTAUTH_API restauth_call_t *restauth_call_create(const restauth_api_t *api,
    const restauth_request_t *req);
RESTAUTH_API void restauth_call_destroy(restauth_call_t *call);

/* Advances the call until it needs I/O or is done. */
RESTAUTH_API restauth_need_t restauth_call_next(restauth_call_t *call);

/* RESTAUTH_NEED_REDIS: a batch of commands, sent pipelined, in order. */
RESTAUTH_API size_t restauth_call_redis_count(const restauth_call_t *call);
RESTAUTH_API void restauth_call_redis_command(const restauth_call_t *call,
    size_t i, int *argc, const char ***argv, const size_t **argvlen);
/* reply == NULL: the command failed (Redis down, timeout). */
RESTAUTH_API void restauth_call_redis_reply(restauth_call_t *call, size_t i,
    const struct redisReply *reply);

/* RESTAUTH_NEED_JOB: runs on a pool thread; touches only the call. */
RESTAUTH_API void restauth_call_run_job(restauth_call_t *call);
/* The shim could not run the job (its queue is full, or the job waited too
 * long): the call answers 503 with Retry-After: retry_after seconds. */
RESTAUTH_API void restauth_call_job_failed(restauth_call_t *call,
    unsigned retry_after);

/* RESTAUTH_DONE */
RESTAUTH_API int restauth_call_status(const restauth_call_t *call);
RESTAUTH_API size_t restauth_call_header_count(const restauth_call_t *call);
RESTAUTH_API void restauth_call_header(const restauth_call_t *call, size_t i,
    restauth_str_t *name, restauth_str_t *value);
RESTAUTH_API restauth_str_t restauth_call_body(const restauth_call_t *call);

/* Log lines produced since the last restauth_call_next(); never secrets. */
RESTAUTH_API size_t restauth_call_log_count(const restauth_call_t *call);
RESTAUTH_API void restauth_call_log_line(const restauth_call_t *call,
    size_t i, int *level, restauth_str_t *msg);

/* Security events the call produced, in order, readable once it is DONE
 * (the audit trail, the metrics and $restauth_event all read these).  Never
 * secrets: no password, token, reset key or CSRF value.
 *
 *   name                    outcome
 *   login                   success | bad_credentials | locked | inactive |
 *                           unverified
 *   logout                  success
 *   logout_all              success
 *   refresh                 success
 *   refresh_reuse           revoked            (the family is revoked)
 *   password_change         success
 *   password_reset          success            (the confirm step)
 *   email_verification      success
 *   registration            success
 *   session_revoke          success            (sessions/<id> DELETE, or the
 *                                               session cap evicting one)
 *   mail_queued             password_reset | email_verification
 *   rate_limited            login_ip | login_account | registration_ip |
 *                           mail_address | mail_ip
 *
 * user_id, username and session_id are empty when unknown. */
typedef struct {
    restauth_str_t   name;
    restauth_str_t   outcome;
    restauth_str_t   user_id;
    restauth_str_t   username;
    restauth_str_t   session_id;
} restauth_event_t;

RESTAUTH_API size_t restauth_call_event_count(const restauth_call_t *call);
RESTAUTH_API void restauth_call_event(const restauth_call_t *call, size_t i,
    restauth_event_t *event);

/* ---- protecting other locations: stateless access-token checks ---------- */

typedef enum {
    RESTAUTH_TOKEN_OK = 0,
    RESTAUTH_TOKEN_MISSING,       /* no Bearer header and no access cookie */
    RESTAUTH_TOKEN_BAD_HEADER,    /* "Bearer" with no or several values */
    RESTAUTH_TOKEN_INVALID,       /* signature, alg, exp/nbf, iss/aud, size */
    RESTAUTH_TOKEN_WRONG_TYPE,    /* a refresh token */
    RESTAUTH_TOKEN_CSRF_FAILED    /* cookie auth, unsafe method, bad CSRF */
} restauth_token_status_t;

/* $restauth_token_status: "valid", "missing", "bad_header", "invalid",
 * "wrong_type" or "csrf_failed". */
RESTAUTH_API restauth_str_t restauth_token_status_name(
    restauth_token_status_t status);

typedef struct restauth_identity_s  restauth_identity_t;

typedef struct {
    restauth_str_t   method;
    restauth_str_t   authorization;
    restauth_str_t   cookie;
    restauth_str_t   csrf_header;   /* X-CSRFToken */
    restauth_str_t   host;          /* Host, Origin, Referer and TLS: the */
    restauth_str_t   origin;        /* CSRF origin check of cookie-       */
    restauth_str_t   referer;       /* authenticated unsafe requests      */
    int              secure;
    int64_t          now;
    /* optional: receives why a presented token was refused (for the log;
     * never token material), NUL-terminated */
    char            *reason;
    size_t           reason_size;
} restauth_credentials_t;

/* Verifies the caller's access token (Authorization: Bearer, else the
 * access cookie, which for unsafe methods also needs the CSRF header).  On
 * RESTAUTH_TOKEN_OK *identity owns the verified claims and must be
 * destroyed by the caller. */
RESTAUTH_API restauth_token_status_t restauth_protect_verify(
    const restauth_api_t *api, const restauth_credentials_t *credentials,
    restauth_identity_t **identity);
RESTAUTH_API void restauth_identity_destroy(restauth_identity_t *identity);

/* A claim as header-safe text: strings as they are, numbers in JSON form,
 * booleans as true/false, arrays joined with ","; "a.b" reads nested
 * objects.  Returns 0 when the claim is absent, is an object, or would put
 * a control character into a header.  The value lives as long as the
 * identity. */
RESTAUTH_API int restauth_identity_claim(restauth_identity_t *identity,
    restauth_str_t path, restauth_str_t *value);

/* The Redis key whose existence says the identity's session (and so the
 * token) is still alive, for restauth_check_session; 0 when the token
 * names no session. */
RESTAUTH_API int restauth_identity_session_key(const restauth_api_t *api,
    restauth_identity_t *identity, restauth_str_t *key);

/* The 401 JSON body for a token status; its WWW-Authenticate value. */
RESTAUTH_API restauth_str_t restauth_token_error_body(
    restauth_token_status_t status);
RESTAUTH_API restauth_str_t restauth_token_challenge(
    restauth_token_status_t status);

/* The 403 body of a CSRF refusal, {"detail": "CSRF Failed: <reason>"},
 * for the reason restauth_protect_verify gave with
 * RESTAUTH_TOKEN_CSRF_FAILED; like snprintf: writes at most size bytes
 * (NUL included) and returns the body's length. */
RESTAUTH_API size_t restauth_csrf_error_body(const char *reason, char *buf,
    size_t size);

/* Ready-made JSON error bodies for answers the shim gives on its own. */
RESTAUTH_API restauth_str_t restauth_error_body(int status);


#ifdef __cplusplus
}
#endif

#endif /* RESTAUTH_H_INCLUDED */
