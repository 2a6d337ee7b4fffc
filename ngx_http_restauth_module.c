
/*
 * ngx_http_restauth_module: nginx glue for the restauth core (src/).
 *
 * This file holds only what nginx needs: directives, conf structs and their
 * merging, the content handler of restauth_api, the access handler of
 * restauth_protect, a hiredis adapter on nginx's event loop and thread-pool
 * jobs.  Everything about authentication lives in the C++ core, reached
 * through src/core/restauth.h.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <ngx_thread_pool.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "restauth.h"

#if (NGX_LINUX)
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>

/* Niceness of thread-pool threads while they run restauth jobs. */
#define NGX_HTTP_RESTAUTH_JOB_NICE  10
#endif


#define NGX_HTTP_RESTAUTH_PROTECT_OFF       0
#define NGX_HTTP_RESTAUTH_PROTECT_ON        1
#define NGX_HTTP_RESTAUTH_PROTECT_OPTIONAL  2

typedef struct {
    ngx_str_t                  redis_addr;      /* "host:port" or "unix:/p" */
    ngx_str_t                  redis_host;      /* resolved, NUL-terminated */
    ngx_int_t                  redis_port;
    ngx_flag_t                 redis_unix;
    ngx_str_t                  redis_password;
    ngx_int_t                  redis_db;
    ngx_msec_t                 redis_timeout;
    ngx_str_t                  redis_prefix;
    ngx_str_t                  thread_pool_name;
    ngx_thread_pool_t         *thread_pool;
    ngx_uint_t                 password_iterations;
    ngx_str_t                  mail_stream;
    ngx_str_t                  common_passwords;
    ngx_flag_t                 used;            /* some location needs it */
} ngx_http_restauth_main_conf_t;


typedef struct {
    ngx_flag_t                 api;
    ngx_uint_t                 protect;

    restauth_keyset_t         *keys;

    time_t                     access_lifetime;
    time_t                     refresh_lifetime;
    time_t                     leeway;
    time_t                     reset_token_lifetime;
    time_t                     verify_token_lifetime;
    ngx_str_t                  issuer;
    ngx_str_t                  audience;
    ngx_str_t                  user_claims;     /* space-separated */

    ngx_str_t                  cookie_access;
    ngx_str_t                  cookie_refresh;
    ngx_str_t                  cookie_refresh_path;
    ngx_str_t                  cookie_domain;
    ngx_str_t                  cookie_samesite;
    ngx_flag_t                 cookie_httponly;
    ngx_flag_t                 cookie_secure;

    ngx_uint_t                 email_verification;
    ngx_str_t                  password_reset_url;
    ngx_str_t                  email_verify_url;
    ngx_uint_t                 password_min_length;
    ngx_flag_t                 old_password_field;
    ngx_flag_t                 logout_on_password_change;
    ngx_flag_t                 csrf;
    ngx_uint_t                 token_mode;
    ngx_flag_t                 check_session;
    size_t                     max_body_size;
    ngx_uint_t                 limit_count[RESTAUTH_LIMIT_COUNT];
    time_t                     limit_window[RESTAUTH_LIMIT_COUNT];

    ngx_array_t               *claim_headers;   /* of ..._claim_header_t */
    ngx_array_t               *requires;        /* of ..._require_t */
    ngx_str_t                  login_url;

    restauth_api_t            *core;            /* built at merge time */
} ngx_http_restauth_loc_conf_t;


typedef struct {
    ngx_str_t                  name;            /* as configured */
    ngx_str_t                  lowcase;         /* lower case, for the list */
    ngx_str_t                  match;           /* lower case, '_' as '-' */
    ngx_uint_t                 hash;
    ngx_str_t                  claim;
} ngx_http_restauth_claim_header_t;


typedef struct {
    ngx_str_t                  claim;
    ngx_array_t               *values;          /* of ngx_str_t */
} ngx_http_restauth_require_t;


/* The verdict on a request's token; found through the pool cleanup list so
 * it survives internal redirects (which clear module contexts) and is
 * shared with subrequests, which share the pool: one verification per
 * request. */
typedef struct ngx_http_restauth_session_check_s
    ngx_http_restauth_session_check_t;

typedef struct {
    restauth_identity_t                *identity;
    restauth_token_status_t             status;
    ngx_http_restauth_session_check_t  *check;    /* in flight */
    unsigned                            verified:1;
    unsigned                            session_checked:1;
    unsigned                            session_alive:1;
    unsigned                            session_unknown:1;  /* Redis failed */
} ngx_http_restauth_protect_ctx_t;


/* restauth_check_session: one EXISTS in flight for a protected request;
 * heap memory, detached (request = NULL) if the request goes first. */
struct ngx_http_restauth_session_check_s {
    ngx_http_request_t                 *request;
    ngx_http_restauth_protect_ctx_t    *pctx;
    ngx_event_t                         timer;
};


typedef struct ngx_http_restauth_redis_s  ngx_http_restauth_redis_t;

/* One hiredis context and the nginx connection wrapping its socket; freed
 * by hiredis's cleanup hook, so it never outlives the context. */
typedef struct {
    ngx_http_restauth_redis_t *rd;
    redisAsyncContext         *ac;
    ngx_connection_t          *conn;
} ngx_http_restauth_redis_link_t;


/* The worker's Redis client: at most one live link at a time. */
struct ngx_http_restauth_redis_s {
    ngx_http_restauth_redis_link_t  *link;
    ngx_log_t                       *log;
};


typedef struct ngx_http_restauth_ctx_s  ngx_http_restauth_ctx_t;

/* A command in flight; heap memory, because Redis may answer after the
 * request is gone.  ctx == NULL means the request left: drop the reply. */
typedef struct {
    ngx_http_restauth_ctx_t   *ctx;
    ngx_uint_t                 index;
} ngx_http_restauth_redis_op_t;


/* A job on the thread pool; heap memory for the same reason. */
typedef struct {
    ngx_http_restauth_ctx_t   *ctx;
    restauth_call_t           *call;
} ngx_http_restauth_job_t;


struct ngx_http_restauth_ctx_s {
    ngx_http_request_t        *request;
    restauth_call_t           *call;
    ngx_http_restauth_redis_op_t **ops;
    ngx_uint_t                 nops;
    ngx_uint_t                 pending;
    ngx_http_restauth_job_t   *job;
    ngx_event_t                timer;
    unsigned                   running:1;
};


static ngx_int_t ngx_http_restauth_api_handler(ngx_http_request_t *r);
static void ngx_http_restauth_body_handler(ngx_http_request_t *r);
static void ngx_http_restauth_run(ngx_http_restauth_ctx_t *ctx);
static ngx_int_t ngx_http_restauth_send_redis(ngx_http_restauth_ctx_t *ctx);
static ngx_int_t ngx_http_restauth_post_job(ngx_http_restauth_ctx_t *ctx);
static ngx_int_t ngx_http_restauth_send_response(ngx_http_request_t *r,
    restauth_call_t *call);
static ngx_int_t ngx_http_restauth_send_error(ngx_http_request_t *r,
    ngx_uint_t status);
static void ngx_http_restauth_flush_log(ngx_http_request_t *r,
    restauth_call_t *call);
static void ngx_http_restauth_cleanup(void *data);
static void ngx_http_restauth_timeout(ngx_event_t *ev);
static void ngx_http_restauth_job_handler(void *data, ngx_log_t *log);
static void ngx_http_restauth_job_done(ngx_event_t *ev);

static ngx_int_t ngx_http_restauth_redis_connect(
    ngx_http_restauth_redis_t *rd);
static void ngx_http_restauth_redis_reset(ngx_http_restauth_redis_t *rd);
static void ngx_http_restauth_redis_reply(redisAsyncContext *ac, void *reply,
    void *privdata);

static void *ngx_http_restauth_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_restauth_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_restauth_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_restauth_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_restauth_api(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_restauth_redis(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_restauth_read_secret(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_restauth_jwt_key(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_restauth_jwt_claims(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_restauth_rate_limit(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_restauth_claim_header(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static char *ngx_http_restauth_require(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_restauth_add_variables(ngx_conf_t *cf);
static ngx_int_t ngx_http_restauth_init(ngx_conf_t *cf);
static ngx_int_t ngx_http_restauth_init_process(ngx_cycle_t *cycle);
static void ngx_http_restauth_exit_process(ngx_cycle_t *cycle);


static ngx_conf_enum_t  ngx_http_restauth_verification[] = {
    { ngx_string("none"), RESTAUTH_VERIFY_NONE },
    { ngx_string("optional"), RESTAUTH_VERIFY_OPTIONAL },
    { ngx_string("mandatory"), RESTAUTH_VERIFY_MANDATORY },
    { ngx_null_string, 0 }
};


/* restauth_rate_limit: names and defaults, indexed by RESTAUTH_LIMIT_*. */
static struct {
    ngx_str_t    name;
    ngx_uint_t   count;
    time_t       window;
} ngx_http_restauth_limit_defaults[RESTAUTH_LIMIT_COUNT] = {
    { ngx_string("login_ip"), 100, 900 },
    { ngx_string("login_account"), 10, 900 },
    { ngx_string("registration_ip"), 50, 3600 },
    { ngx_string("mail_address"), 5, 3600 },
    { ngx_string("mail_ip"), 50, 3600 }
};


#define NGX_HTTP_RESTAUTH_TOKENS_JWT     0
#define NGX_HTTP_RESTAUTH_TOKENS_OPAQUE  1

static ngx_conf_enum_t  ngx_http_restauth_token_modes[] = {
    { ngx_string("jwt"), NGX_HTTP_RESTAUTH_TOKENS_JWT },
    { ngx_string("opaque"), NGX_HTTP_RESTAUTH_TOKENS_OPAQUE },
    { ngx_null_string, 0 }
};


static ngx_conf_enum_t  ngx_http_restauth_protect_modes[] = {
    { ngx_string("off"), NGX_HTTP_RESTAUTH_PROTECT_OFF },
    { ngx_string("on"), NGX_HTTP_RESTAUTH_PROTECT_ON },
    { ngx_string("optional"), NGX_HTTP_RESTAUTH_PROTECT_OPTIONAL },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_http_restauth_commands[] = {

    { ngx_string("restauth_api"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_restauth_api,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("restauth_protect"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_restauth_loc_conf_t, protect),
      &ngx_http_restauth_protect_modes },

    { ngx_string("restauth_claim_header"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE2,
      ngx_http_restauth_claim_header,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("restauth_require"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_2MORE,
      ngx_http_restauth_require,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("restauth_login_url"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_restauth_loc_conf_t, login_url),
      NULL },

    { ngx_string("restauth_redis"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_restauth_redis,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("restauth_redis_password_file"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_restauth_read_secret,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_restauth_main_conf_t, redis_password),
      NULL },

    { ngx_string("restauth_redis_db"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_restauth_main_conf_t, redis_db),
      NULL },

    { ngx_string("restauth_redis_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_restauth_main_conf_t, redis_timeout),
      NULL },

    { ngx_string("restauth_redis_prefix"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_restauth_main_conf_t, redis_prefix),
      NULL },

    { ngx_string("restauth_thread_pool"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_restauth_main_conf_t, thread_pool_name),
      NULL },

    { ngx_string("restauth_password_iterations"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_restauth_main_conf_t, password_iterations),
      NULL },

    { ngx_string("restauth_mail_stream"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_restauth_main_conf_t, mail_stream),
      NULL },

    { ngx_string("restauth_common_passwords"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_restauth_main_conf_t, common_passwords),
      NULL },

    { ngx_string("restauth_jwt_key"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_TAKE23,
      ngx_http_restauth_jwt_key,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("restauth_jwt_access_lifetime"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_restauth_loc_conf_t, access_lifetime),
      NULL },

    { ngx_string("restauth_jwt_refresh_lifetime"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_restauth_loc_conf_t, refresh_lifetime),
      NULL },

    { ngx_string("restauth_jwt_leeway"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_restauth_loc_conf_t, leeway),
      NULL },

    { ngx_string("restauth_jwt_issuer"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_restauth_loc_conf_t, issuer),
      NULL },

    { ngx_string("restauth_jwt_audience"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_restauth_loc_conf_t, audience),
      NULL },

    { ngx_string("restauth_jwt_claims"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_1MORE,
      ngx_http_restauth_jwt_claims,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_restauth_loc_conf_t, user_claims),
      NULL },

    { ngx_string("restauth_reset_token_lifetime"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_restauth_loc_conf_t, reset_token_lifetime),
      NULL },

    { ngx_string("restauth_verify_token_lifetime"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_sec_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_restauth_loc_conf_t, verify_token_lifetime),
      NULL },

    { ngx_string("restauth_cookie_access"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_restauth_loc_conf_t, cookie_access),
      NULL },

    { ngx_string("restauth_cookie_refresh"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_restauth_loc_conf_t, cookie_refresh),
      NULL },

    { ngx_string("restauth_cookie_refresh_path"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_restauth_loc_conf_t, cookie_refresh_path),
      NULL },

    { ngx_string("restauth_cookie_domain"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_restauth_loc_conf_t, cookie_domain),
      NULL },

    { ngx_string("restauth_cookie_samesite"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_restauth_loc_conf_t, cookie_samesite),
      NULL },

    { ngx_string("restauth_cookie_httponly"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_restauth_loc_conf_t, cookie_httponly),
      NULL },

    { ngx_string("restauth_cookie_secure"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_restauth_loc_conf_t, cookie_secure),
      NULL },

    { ngx_string("restauth_email_verification"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_restauth_loc_conf_t, email_verification),
      &ngx_http_restauth_verification },

    { ngx_string("restauth_password_reset_url"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_restauth_loc_conf_t, password_reset_url),
      NULL },

    { ngx_string("restauth_email_verify_url"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_str_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_restauth_loc_conf_t, email_verify_url),
      NULL },

    { ngx_string("restauth_password_min_length"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_restauth_loc_conf_t, password_min_length),
      NULL },

    { ngx_string("restauth_password_change_old_password"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_restauth_loc_conf_t, old_password_field),
      NULL },

    { ngx_string("restauth_logout_on_password_change"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_restauth_loc_conf_t, logout_on_password_change),
      NULL },

    { ngx_string("restauth_csrf"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_restauth_loc_conf_t, csrf),
      NULL },

    { ngx_string("restauth_rate_limit"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_TAKE23,
      ngx_http_restauth_rate_limit,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("restauth_check_session"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_restauth_loc_conf_t, check_session),
      NULL },

    { ngx_string("restauth_token_mode"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_enum_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_restauth_loc_conf_t, token_mode),
      &ngx_http_restauth_token_modes },

    { ngx_string("restauth_max_body_size"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_restauth_loc_conf_t, max_body_size),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_restauth_module_ctx = {
    ngx_http_restauth_add_variables,       /* preconfiguration */
    ngx_http_restauth_init,                /* postconfiguration */

    ngx_http_restauth_create_main_conf,    /* create main configuration */
    ngx_http_restauth_init_main_conf,      /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_restauth_create_loc_conf,     /* create location configuration */
    ngx_http_restauth_merge_loc_conf       /* merge location configuration */
};


ngx_module_t  ngx_http_restauth_module = {
    NGX_MODULE_V1,
    &ngx_http_restauth_module_ctx,         /* module context */
    ngx_http_restauth_commands,            /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    ngx_http_restauth_init_process,        /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    ngx_http_restauth_exit_process,        /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/* The worker's Redis connection; lives from init_process to exit_process. */
static ngx_http_restauth_redis_t  *ngx_http_restauth_redis_conn;

static ngx_str_t  ngx_http_restauth_json_type =
    ngx_string("application/json");


/* ---- the API content handler -------------------------------------------- */

static ngx_int_t
ngx_http_restauth_api_handler(ngx_http_request_t *r)
{
    ngx_int_t                      rc;
    ngx_http_restauth_loc_conf_t  *rlcf;

    rlcf = ngx_http_get_module_loc_conf(r, ngx_http_restauth_module);

    if (r->headers_in.content_length_n > (off_t) rlcf->max_body_size) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "restauth: request body of %O bytes exceeds "
                      "restauth_max_body_size", r->headers_in.content_length_n);
        ngx_http_discard_request_body(r);
        return ngx_http_restauth_send_error(r,
                                            NGX_HTTP_REQUEST_ENTITY_TOO_LARGE);
    }

    /* Keep the body in one memory buffer: reading a temp file would block. */
    r->request_body_in_single_buf = 1;

    rc = ngx_http_read_client_request_body(r, ngx_http_restauth_body_handler);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


static ngx_str_t *
ngx_http_restauth_find_header(ngx_http_request_t *r, ngx_str_t *name)
{
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if (h[i].key.len == name->len
            && ngx_strncasecmp(h[i].key.data, name->data, name->len) == 0)
        {
            return &h[i].value;
        }
    }
}


static ngx_int_t
ngx_http_restauth_collect_body(ngx_http_request_t *r, restauth_str_t *body)
{
    u_char                        *p;
    size_t                         len;
    ngx_buf_t                     *b;
    ngx_chain_t                   *cl;
    ngx_http_restauth_loc_conf_t  *rlcf;

    body->data = "";
    body->len = 0;

    if (r->request_body == NULL || r->request_body->bufs == NULL) {
        return NGX_OK;
    }

    if (r->request_body->temp_file) {
        return NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
    }

    len = 0;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        b = cl->buf;

        if (b->in_file) {
            return NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
        }

        len += b->last - b->pos;
    }

    rlcf = ngx_http_get_module_loc_conf(r, ngx_http_restauth_module);

    if (len > rlcf->max_body_size) {
        return NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
    }

    if (len == 0) {
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    body->data = (const char *) p;
    body->len = len;

    for (cl = r->request_body->bufs; cl; cl = cl->next) {
        p = ngx_cpymem(p, cl->buf->pos, cl->buf->last - cl->buf->pos);
    }

    return NGX_OK;
}


static void
ngx_http_restauth_str(restauth_str_t *dst, ngx_str_t *src)
{
    if (src == NULL) {
        dst->data = "";
        dst->len = 0;
        return;
    }

    dst->data = (const char *) src->data;
    dst->len = src->len;
}


static ngx_int_t
ngx_http_restauth_cookies(ngx_http_request_t *r, restauth_str_t *out)
{
    u_char            *p;
    size_t             len;
    ngx_uint_t         i;
    ngx_table_elt_t  **h;

    /* Several Cookie headers are joined as one, as HTTP/2 requires. */
    h = r->headers_in.cookies.elts;
    len = 0;

    for (i = 0; i < r->headers_in.cookies.nelts; i++) {
        len += h[i]->value.len + 2;
    }

    out->data = "";
    out->len = 0;

    if (len == 0) {
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    out->data = (const char *) p;

    for (i = 0; i < r->headers_in.cookies.nelts; i++) {
        if (i) {
            *p++ = ';'; *p++ = ' ';
        }

        p = ngx_cpymem(p, h[i]->value.data, h[i]->value.len);
    }

    out->len = p - (u_char *) out->data;

    return NGX_OK;
}


static void
ngx_http_restauth_body_handler(ngx_http_request_t *r)
{
    ngx_int_t                      rc;
    ngx_str_t                      path;
    ngx_pool_cleanup_t            *cln;
    restauth_request_t             req;
    ngx_http_restauth_ctx_t       *ctx;
    ngx_http_core_loc_conf_t      *clcf;
    ngx_http_restauth_loc_conf_t  *rlcf;

    static ngx_str_t  csrf_header = ngx_string("X-CSRFToken");

    rlcf = ngx_http_get_module_loc_conf(r, ngx_http_restauth_module);
    clcf = ngx_http_get_module_loc_conf(r, ngx_http_core_module);

    ngx_memzero(&req, sizeof(restauth_request_t));

    rc = ngx_http_restauth_collect_body(r, &req.body);

    if (rc != NGX_OK) {
        if (rc == NGX_HTTP_REQUEST_ENTITY_TOO_LARGE) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "restauth: request body exceeds "
                          "restauth_max_body_size or client_body_buffer_size");
            rc = ngx_http_restauth_send_error(r, rc);
        }

        ngx_http_finalize_request(r, rc);
        return;
    }

    path = r->uri;

    if (!clcf->regex && path.len >= clcf->name.len
        && ngx_strncmp(path.data, clcf->name.data, clcf->name.len) == 0)
    {
        path.data += clcf->name.len;
        path.len -= clcf->name.len;
    }

    while (path.len && path.data[0] == '/') {
        path.data++;
        path.len--;
    }

    ngx_http_restauth_str(&req.method, &r->method_name);
    ngx_http_restauth_str(&req.path, &path);
    ngx_http_restauth_str(&req.client_ip, &r->connection->addr_text);

    if (r->headers_in.content_type) {
        ngx_http_restauth_str(&req.content_type,
                              &r->headers_in.content_type->value);
    }

    if (r->headers_in.authorization) {
        ngx_http_restauth_str(&req.authorization,
                              &r->headers_in.authorization->value);
        req.authorization_count = 1;
    }

    if (r->headers_in.user_agent) {
        ngx_http_restauth_str(&req.user_agent,
                              &r->headers_in.user_agent->value);
    }

    ngx_http_restauth_str(&req.csrf_header,
                          ngx_http_restauth_find_header(r, &csrf_header));

    if (ngx_http_restauth_cookies(r, &req.cookie) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    req.now = ngx_time();

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_restauth_ctx_t));
    if (ctx == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ctx->request = r;
    ctx->call = restauth_call_create(rlcf->core, &req);

    if (ctx->call == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    cln->handler = ngx_http_restauth_cleanup;
    cln->data = ctx;

    ctx->timer.handler = ngx_http_restauth_timeout;
    ctx->timer.data = ctx;
    ctx->timer.log = r->connection->log;

    ngx_http_set_ctx(r, ctx, ngx_http_restauth_module);

    ngx_http_restauth_run(ctx);
}


/*
 * While Redis or a job works, notice a client that goes away: the request
 * is then finalized, and its pool cleanup detaches the pending callbacks.
 */
static void
ngx_http_restauth_wait(ngx_http_request_t *r)
{
    r->read_event_handler = ngx_http_test_reading;
    r->write_event_handler = ngx_http_request_empty_handler;
}


/*
 * Drives the core until it waits for Redis or a job, or is done.  Called
 * from the body handler, Redis reply callbacks and job completions, so it
 * finishes by running posted requests of the connection where needed.
 */
static void
ngx_http_restauth_run(ngx_http_restauth_ctx_t *ctx)
{
    ngx_int_t            rc;
    restauth_need_t      need;
    ngx_http_request_t  *r;

    r = ctx->request;

    if (ctx->running) {
        /* A reply arrived synchronously while we were submitting. */
        return;
    }

    ctx->running = 1;

    for ( ;; ) {
        need = restauth_call_next(ctx->call);
        ngx_http_restauth_flush_log(r, ctx->call);

        if (need == RESTAUTH_NEED_REDIS) {
            rc = ngx_http_restauth_send_redis(ctx);

            if (rc == NGX_AGAIN) {
                ngx_http_restauth_wait(r);
                ctx->running = 0;
                return;
            }

            /* NGX_OK: all replies already fed (failures); step again */
            continue;
        }

        if (need == RESTAUTH_NEED_JOB) {
            if (ngx_http_restauth_post_job(ctx) == NGX_OK) {
                ngx_http_restauth_wait(r);
                ctx->running = 0;
                return;
            }

            restauth_call_job_failed(ctx->call);
            continue;
        }

        break;
    }

    ctx->running = 0;

    rc = ngx_http_restauth_send_response(r, ctx->call);
    ngx_http_finalize_request(r, rc);
}


/* ---- Redis: per-request command batches --------------------------------- */

static ngx_int_t
ngx_http_restauth_send_redis(ngx_http_restauth_ctx_t *ctx)
{
    int                             argc;
    size_t                          i, n;
    const char                    **argv;
    const size_t                   *argvlen;
    ngx_http_restauth_redis_t      *rd;
    ngx_http_restauth_redis_op_t   *op;
    ngx_http_restauth_main_conf_t  *rmcf;

    n = restauth_call_redis_count(ctx->call);
    rd = ngx_http_restauth_redis_conn;

    if (ctx->nops < n) {
        ctx->ops = ngx_pcalloc(ctx->request->pool, n * sizeof(void *));
        if (ctx->ops == NULL) {
            ctx->nops = 0;
            goto fail_all;
        }

        ctx->nops = n;
    }

    if (rd == NULL || (rd->link == NULL && ngx_http_restauth_redis_connect(rd)
                                           != NGX_OK))
    {
        goto fail_all;
    }

    ctx->pending = 0;

    for (i = 0; i < n; i++) {
        ctx->ops[i] = NULL;
    }

    for (i = 0; i < n; i++) {
        restauth_call_redis_command(ctx->call, i, &argc, &argv, &argvlen);

        op = ngx_alloc(sizeof(ngx_http_restauth_redis_op_t),
                       ctx->request->connection->log);
        if (op == NULL) {
            restauth_call_redis_reply(ctx->call, i, NULL);
            continue;
        }

        op->ctx = ctx;
        op->index = i;

        if (rd->link == NULL
            || redisAsyncCommandArgv(rd->link->ac,
                                     ngx_http_restauth_redis_reply, op,
                                     argc, argv, argvlen)
               != REDIS_OK)
        {
            ngx_free(op);
            restauth_call_redis_reply(ctx->call, i, NULL);
            continue;
        }

        ctx->ops[i] = op;
        ctx->pending++;
    }

    if (ctx->pending == 0) {
        return NGX_OK;
    }

    rmcf = ngx_http_get_module_main_conf(ctx->request,
                                         ngx_http_restauth_module);

    ngx_add_timer(&ctx->timer, rmcf->redis_timeout);

    return NGX_AGAIN;

fail_all:

    for (i = 0; i < n; i++) {
        restauth_call_redis_reply(ctx->call, i, NULL);
    }

    return NGX_OK;
}


static void
ngx_http_restauth_redis_reply(redisAsyncContext *ac, void *reply,
    void *privdata)
{
    ngx_connection_t              *c;
    ngx_http_request_t            *r;
    ngx_http_restauth_ctx_t       *ctx;
    ngx_http_restauth_redis_op_t  *op;

    op = privdata;
    ctx = op->ctx;

    if (ctx == NULL) {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                       "restauth: reply for a finished request dropped");
        ngx_free(op);
        return;
    }

    ctx->ops[op->index] = NULL;
    restauth_call_redis_reply(ctx->call, op->index, reply);
    ngx_free(op);

    if (--ctx->pending > 0) {
        return;
    }

    if (ctx->timer.timer_set) {
        ngx_del_timer(&ctx->timer);
    }

    r = ctx->request;
    c = r->connection;

    ngx_http_restauth_run(ctx);
    ngx_http_run_posted_requests(c);
}


static void
ngx_http_restauth_timeout(ngx_event_t *ev)
{
    ngx_http_restauth_ctx_t  *ctx;

    ctx = ev->data;

    ngx_log_error(NGX_LOG_ERR, ev->log, 0,
                  "restauth: redis did not answer within "
                  "restauth_redis_timeout, resetting the connection");

    /* Freeing the context answers every pending callback with NULL, which
     * also completes this request with a 503. */
    ngx_http_restauth_redis_reset(ngx_http_restauth_redis_conn);

    (void) ctx;
}


/* ---- thread pool jobs ---------------------------------------------------- */

static ngx_int_t
ngx_http_restauth_post_job(ngx_http_restauth_ctx_t *ctx)
{
    ngx_thread_task_t              *task;
    ngx_http_restauth_job_t        *job;
    ngx_http_restauth_main_conf_t  *rmcf;

    rmcf = ngx_http_get_module_main_conf(ctx->request,
                                         ngx_http_restauth_module);

    /* Heap, not the request pool: the job may outlive the request. */
    task = ngx_calloc(sizeof(ngx_thread_task_t)
                      + sizeof(ngx_http_restauth_job_t),
                      ctx->request->connection->log);
    if (task == NULL) {
        return NGX_ERROR;
    }

    job = (ngx_http_restauth_job_t *) (task + 1);
    job->ctx = ctx;
    job->call = ctx->call;

    task->ctx = job;
    task->handler = ngx_http_restauth_job_handler;
    task->event.data = task;
    task->event.handler = ngx_http_restauth_job_done;
    task->event.log = ngx_cycle->log;

    if (ngx_thread_task_post(rmcf->thread_pool, task) != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, ctx->request->connection->log, 0,
                      "restauth: thread pool \"%V\" queue is full",
                      &rmcf->thread_pool_name);
        ngx_free(task);
        return NGX_ERROR;
    }

    ctx->job = job;

    return NGX_OK;
}


static void
ngx_http_restauth_job_handler(void *data, ngx_log_t *log)
{
    ngx_http_restauth_job_t  *job = data;

#if (NGX_LINUX)
    static __thread ngx_uint_t  niced;

    /* Hashing threads yield the CPU to the event loop: without this a
     * burst of logins delays every other request by scheduler latency.
     * SCHED_IDLE runs them only when nothing else wants the CPU; nice is
     * the fallback where that policy is refused. */
    if (!niced) {
        struct sched_param  param;

        niced = 1;
        ngx_memzero(&param, sizeof(struct sched_param));

        if (sched_setscheduler(0, SCHED_IDLE, &param) == -1) {
            (void) setpriority(PRIO_PROCESS, (id_t) syscall(SYS_gettid),
                               NGX_HTTP_RESTAUTH_JOB_NICE);
        }
    }
#endif

    restauth_call_run_job(job->call);
}


static void
ngx_http_restauth_job_done(ngx_event_t *ev)
{
    ngx_connection_t         *c;
    ngx_thread_task_t        *task;
    ngx_http_restauth_ctx_t  *ctx;
    ngx_http_restauth_job_t  *job;

    task = ev->data;
    job = task->ctx;
    ctx = job->ctx;

    if (ctx == NULL) {
        /* the request is gone; the call was left to us */
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                       "restauth: job for a finished request completed");
        restauth_call_destroy(job->call);
        ngx_free(task);
        return;
    }

    ctx->job = NULL;
    ngx_free(task);

    c = ctx->request->connection;

    ngx_http_restauth_run(ctx);
    ngx_http_run_posted_requests(c);
}


static void
ngx_http_restauth_cleanup(void *data)
{
    ngx_http_restauth_ctx_t *ctx = data;

    ngx_uint_t  i;

    if (ctx->timer.timer_set) {
        ngx_del_timer(&ctx->timer);
    }

    for (i = 0; i < ctx->nops; i++) {
        if (ctx->ops[i]) {
            ctx->ops[i]->ctx = NULL;
        }
    }

    if (ctx->job) {
        /* the pool thread still uses the call: job_done frees it */
        ctx->job->ctx = NULL;
        return;
    }

    restauth_call_destroy(ctx->call);
}


/* ---- responses ----------------------------------------------------------- */

static void
ngx_http_restauth_flush_log(ngx_http_request_t *r, restauth_call_t *call)
{
    int             level;
    size_t          i, n;
    ngx_uint_t      ngx_level;
    restauth_str_t  msg;

    n = restauth_call_log_count(call);

    for (i = 0; i < n; i++) {
        restauth_call_log_line(call, i, &level, &msg);

        switch (level) {
        case RESTAUTH_LOG_ERR:
            ngx_level = NGX_LOG_ERR;
            break;
        case RESTAUTH_LOG_WARN:
            ngx_level = NGX_LOG_WARN;
            break;
        case RESTAUTH_LOG_INFO:
            ngx_level = NGX_LOG_INFO;
            break;
        default:
            ngx_level = NGX_LOG_DEBUG;
        }

        ngx_log_error(ngx_level, r->connection->log, 0, "restauth: %*s",
                      msg.len, msg.data);
    }
}


static ngx_int_t
ngx_http_restauth_send_json(ngx_http_request_t *r, ngx_uint_t status,
    restauth_str_t body)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    r->headers_out.status = status;
    r->headers_out.content_type = ngx_http_restauth_json_type;
    r->headers_out.content_type_len = ngx_http_restauth_json_type.len;
    r->headers_out.content_length_n = body.len;

    if (status == NGX_HTTP_NO_CONTENT) {
        r->header_only = 1;
        ngx_str_null(&r->headers_out.content_type);
        r->headers_out.content_length_n = -1;
    }

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only || body.len == 0) {
        return rc;
    }

    b = ngx_create_temp_buf(r->pool, body.len);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->last = ngx_cpymem(b->last, body.data, body.len);
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


static ngx_int_t
ngx_http_restauth_send_error(ngx_http_request_t *r, ngx_uint_t status)
{
    return ngx_http_restauth_send_json(r, status,
                                       restauth_error_body((int) status));
}


static ngx_int_t
ngx_http_restauth_send_response(ngx_http_request_t *r, restauth_call_t *call)
{
    size_t            i, n;
    restauth_str_t    name, value;
    ngx_table_elt_t  *h;

    n = restauth_call_header_count(call);

    for (i = 0; i < n; i++) {
        restauth_call_header(call, i, &name, &value);

        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_ERROR;
        }

        h->hash = 1;
        h->key.len = name.len;
        h->key.data = (u_char *) name.data;
        h->value.len = value.len;
        h->value.data = (u_char *) value.data;
    }

    return ngx_http_restauth_send_json(r, restauth_call_status(call),
                                       restauth_call_body(call));
}


/* ---- the hiredis adapter ------------------------------------------------ */

static void
ngx_http_restauth_redis_read(ngx_event_t *ev)
{
    ngx_connection_t                *c = ev->data;
    ngx_http_restauth_redis_link_t  *link = c->data;

    /* May free the context, the link and c: touch none afterwards. */
    redisAsyncHandleRead(link->ac);
}


static void
ngx_http_restauth_redis_write(ngx_event_t *ev)
{
    ngx_connection_t                *c = ev->data;
    ngx_http_restauth_redis_link_t  *link = c->data;

    redisAsyncHandleWrite(link->ac);
}


static void
ngx_http_restauth_redis_add_read(void *privdata)
{
    ngx_http_restauth_redis_link_t  *link = privdata;

    /* Level-triggered: hiredis reads at most 16 KiB per call, so data left
     * in the socket must wake us again. */
    if (!link->conn->read->active) {
        ngx_add_event(link->conn->read, NGX_READ_EVENT, NGX_LEVEL_EVENT);
    }
}


static void
ngx_http_restauth_redis_del_read(void *privdata)
{
    ngx_http_restauth_redis_link_t  *link = privdata;

    if (link->conn->read->active) {
        ngx_del_event(link->conn->read, NGX_READ_EVENT, 0);
    }
}


static void
ngx_http_restauth_redis_add_write(void *privdata)
{
    ngx_http_restauth_redis_link_t  *link = privdata;

    if (!link->conn->write->active) {
        ngx_add_event(link->conn->write, NGX_WRITE_EVENT, NGX_LEVEL_EVENT);
    }
}


static void
ngx_http_restauth_redis_del_write(void *privdata)
{
    ngx_http_restauth_redis_link_t  *link = privdata;

    if (link->conn->write->active) {
        ngx_del_event(link->conn->write, NGX_WRITE_EVENT, 0);
    }
}


/* hiredis calls this once, while freeing the context, after answering the
 * pending callbacks and before closing the socket. */
static void
ngx_http_restauth_redis_cleanup(void *privdata)
{
    ngx_http_restauth_redis_link_t  *link = privdata;

    ngx_connection_t  *c;

    c = link->conn;

    if (c->read->active) {
        ngx_del_event(c->read, NGX_READ_EVENT, NGX_CLOSE_EVENT);
    }

    if (c->write->active) {
        ngx_del_event(c->write, NGX_WRITE_EVENT, NGX_CLOSE_EVENT);
    }

    if (c->read->posted) {
        ngx_delete_posted_event(c->read);
    }

    if (c->write->posted) {
        ngx_delete_posted_event(c->write);
    }

    c->fd = (ngx_socket_t) -1;
    ngx_free_connection(c);

    if (link->rd->link == link) {
        link->rd->link = NULL;
    }

    ngx_free(link);
}


static void
ngx_http_restauth_redis_on_connect(const redisAsyncContext *ac, int status)
{
    if (status != REDIS_OK) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "restauth: redis connect failed: %s", ac->errstr);
        return;
    }

    ngx_log_error(NGX_LOG_INFO, ngx_cycle->log, 0, "restauth: redis connected");
}


/* Runs after the cleanup hook: the link is gone, only log. */
static void
ngx_http_restauth_redis_on_disconnect(const redisAsyncContext *ac, int status)
{
    if (status != REDIS_OK) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "restauth: redis connection lost: %s", ac->errstr);
    }
}


static void
ngx_http_restauth_redis_setup_reply(redisAsyncContext *ac, void *reply,
    void *privdata)
{
    redisReply  *rep = reply;

    if (rep != NULL && rep->type == REDIS_REPLY_ERROR) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "restauth: redis %s failed: %*s", (char *) privdata,
                      (size_t) rep->len, rep->str);

        /* Fail the commands queued behind it rather than run them on a
         * connection without the intended credentials or database;
         * hiredis defers the free until this callback returns. */
        redisAsyncFree(ac);
    }
}


static ngx_int_t
ngx_http_restauth_redis_connect(ngx_http_restauth_redis_t *rd)
{
    ngx_connection_t                *c;
    redisAsyncContext               *ac;
    ngx_http_restauth_redis_link_t  *link;
    ngx_http_restauth_main_conf_t   *rmcf;

    rmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_restauth_module);

    /* Both connect functions are non-blocking; the address was resolved
     * at configuration time. */
    if (rmcf->redis_unix) {
        ac = redisAsyncConnectUnix((char *) rmcf->redis_host.data);

    } else {
        ac = redisAsyncConnect((char *) rmcf->redis_host.data,
                               (int) rmcf->redis_port);
    }

    if (ac == NULL || ac->err) {
        ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                      "restauth: redis connect to \"%V\" failed: %s",
                      &rmcf->redis_addr, ac ? ac->errstr : "out of memory");
        if (ac) {
            redisAsyncFree(ac);
        }

        return NGX_ERROR;
    }

    link = ngx_calloc(sizeof(ngx_http_restauth_redis_link_t), rd->log);
    if (link == NULL) {
        redisAsyncFree(ac);
        return NGX_ERROR;
    }

    c = ngx_get_connection(ac->c.fd, rd->log);
    if (c == NULL) {
        ngx_free(link);
        redisAsyncFree(ac);
        return NGX_ERROR;
    }

    c->data = link;
    c->read->handler = ngx_http_restauth_redis_read;
    c->write->handler = ngx_http_restauth_redis_write;
    c->read->log = rd->log;
    c->write->log = rd->log;

    link->rd = rd;
    link->ac = ac;
    link->conn = c;
    rd->link = link;

    ac->data = link;
    ac->ev.data = link;
    ac->ev.addRead = ngx_http_restauth_redis_add_read;
    ac->ev.delRead = ngx_http_restauth_redis_del_read;
    ac->ev.addWrite = ngx_http_restauth_redis_add_write;
    ac->ev.delWrite = ngx_http_restauth_redis_del_write;
    ac->ev.cleanup = ngx_http_restauth_redis_cleanup;

    redisAsyncSetConnectCallback(ac, ngx_http_restauth_redis_on_connect);
    redisAsyncSetDisconnectCallback(ac, ngx_http_restauth_redis_on_disconnect);

    /* Queued before any request's command, so they run first. */
    if (rmcf->redis_password.len) {
        redisAsyncCommand(ac, ngx_http_restauth_redis_setup_reply, "AUTH",
                          "AUTH %b", rmcf->redis_password.data,
                          rmcf->redis_password.len);
    }

    if (rmcf->redis_db) {
        redisAsyncCommand(ac, ngx_http_restauth_redis_setup_reply, "SELECT",
                          "SELECT %d", (int) rmcf->redis_db);
    }

    return NGX_OK;
}


static void
ngx_http_restauth_redis_reset(ngx_http_restauth_redis_t *rd)
{
    ngx_http_restauth_redis_link_t  *link;

    if (rd == NULL || rd->link == NULL) {
        return;
    }

    link = rd->link;
    rd->link = NULL;

    /* Answers each pending callback with a NULL reply, then calls the
     * cleanup hook, which frees the link. */
    redisAsyncFree(link->ac);
}


static ngx_int_t
ngx_http_restauth_init_process(ngx_cycle_t *cycle)
{
    ngx_http_restauth_redis_t      *rd;
    ngx_http_restauth_main_conf_t  *rmcf;

    rmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_restauth_module);

    if (rmcf == NULL || !rmcf->used) {
        return NGX_OK;
    }

    rd = ngx_pcalloc(cycle->pool, sizeof(ngx_http_restauth_redis_t));
    if (rd == NULL) {
        return NGX_ERROR;
    }

    rd->log = cycle->log;
    ngx_http_restauth_redis_conn = rd;

    /* Connect eagerly; a failure here is retried by the first request. */
    (void) ngx_http_restauth_redis_connect(rd);

    return NGX_OK;
}


static void
ngx_http_restauth_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_restauth_redis_reset(ngx_http_restauth_redis_conn);
    ngx_http_restauth_redis_conn = NULL;
}


/* ---- restauth_protect: verify at the edge, hand claims upstream --------- */

static ngx_http_restauth_claim_header_t  ngx_http_restauth_default_headers[] = {
    { ngx_string("X-Auth-User-Id"), ngx_string("x-auth-user-id"),
      ngx_string("x-auth-user-id"), 0, ngx_string("user_id") },
    { ngx_string("X-Auth-Username"), ngx_string("x-auth-username"),
      ngx_string("x-auth-username"), 0, ngx_string("username") },
    { ngx_string("X-Auth-Email"), ngx_string("x-auth-email"),
      ngx_string("x-auth-email"), 0, ngx_string("email") }
};

#define NGX_HTTP_RESTAUTH_NDEFAULT_HEADERS                                    \
    (sizeof(ngx_http_restauth_default_headers)                                \
     / sizeof(ngx_http_restauth_claim_header_t))


static void
ngx_http_restauth_protect_cleanup(void *data)
{
    ngx_http_restauth_protect_ctx_t  *pctx = data;

    if (pctx->check) {
        /* the EXISTS is still in flight: its callback frees the check */
        if (pctx->check->timer.timer_set) {
            ngx_del_timer(&pctx->check->timer);
        }

        pctx->check->request = NULL;
        pctx->check = NULL;
    }

    if (pctx->identity) {
        restauth_identity_destroy(pctx->identity);
        pctx->identity = NULL;
    }
}


static ngx_http_restauth_protect_ctx_t *
ngx_http_restauth_protect_ctx(ngx_http_request_t *r, ngx_uint_t create)
{
    ngx_pool_cleanup_t               *cln;
    ngx_http_restauth_protect_ctx_t  *pctx;

    for (cln = r->pool->cleanup; cln; cln = cln->next) {
        if (cln->handler == ngx_http_restauth_protect_cleanup) {
            return cln->data;
        }
    }

    if (!create) {
        return NULL;
    }

    cln = ngx_pool_cleanup_add(r->pool,
                               sizeof(ngx_http_restauth_protect_ctx_t));
    if (cln == NULL) {
        return NULL;
    }

    pctx = cln->data;
    ngx_memzero(pctx, sizeof(ngx_http_restauth_protect_ctx_t));

    cln->handler = ngx_http_restauth_protect_cleanup;

    return pctx;
}


/* Header names as CGI-style backends see them: case and '-'/'_' folded. */
static ngx_uint_t
ngx_http_restauth_header_is(ngx_str_t *key, ngx_str_t *match)
{
    u_char      c;
    ngx_uint_t  i;

    if (key->len != match->len) {
        return 0;
    }

    for (i = 0; i < key->len; i++) {
        c = ngx_tolower(key->data[i]);

        if (c == '_') {
            c = '-';
        }

        if (c != match->data[i]) {
            return 0;
        }
    }

    return 1;
}


static ngx_uint_t
ngx_http_restauth_is_ours(ngx_http_restauth_loc_conf_t *rlcf, ngx_str_t *key)
{
    ngx_uint_t                         i;
    ngx_http_restauth_claim_header_t  *ch;

    for (i = 0; i < NGX_HTTP_RESTAUTH_NDEFAULT_HEADERS; i++) {
        if (ngx_http_restauth_header_is(key,
                                   &ngx_http_restauth_default_headers[i].match))
        {
            return 1;
        }
    }

    if (rlcf->claim_headers) {
        ch = rlcf->claim_headers->elts;

        for (i = 0; i < rlcf->claim_headers->nelts; i++) {
            if (ngx_http_restauth_header_is(key, &ch[i].match)) {
                return 1;
            }
        }
    }

    return 0;
}


/* An element of headers_in.headers moved: repoint whatever pointed to it. */
static void
ngx_http_restauth_relocate(ngx_http_request_t *r, ngx_table_elt_t *from,
    ngx_table_elt_t *to)
{
    ngx_http_header_t   *hh;
    ngx_table_elt_t    **field;
#if (nginx_version < 1023000)
    ngx_uint_t           i;
    ngx_table_elt_t    **elts;
#else
    ngx_uint_t           i;
    ngx_list_part_t     *part;
    ngx_table_elt_t     *h;
#endif

    for (hh = ngx_http_headers_in; hh->name.len; hh++) {
#if (nginx_version < 1023000)
        if (hh->offset == offsetof(ngx_http_headers_in_t, cookies)) {
            continue;
        }
#if (NGX_HTTP_X_FORWARDED_FOR)
        if (hh->offset == offsetof(ngx_http_headers_in_t, x_forwarded_for)) {
            continue;
        }
#endif
#endif
        field = (ngx_table_elt_t **) ((char *) &r->headers_in + hh->offset);

        if (*field == from) {
            *field = to;
        }
    }

#if (nginx_version < 1023000)
    elts = r->headers_in.cookies.elts;
    for (i = 0; i < r->headers_in.cookies.nelts; i++) {
        if (elts[i] == from) {
            elts[i] = to;
        }
    }

#if (NGX_HTTP_X_FORWARDED_FOR)
    elts = r->headers_in.x_forwarded_for.elts;
    for (i = 0; i < r->headers_in.x_forwarded_for.nelts; i++) {
        if (elts[i] == from) {
            elts[i] = to;
        }
    }
#endif

#else
    for (part = &r->headers_in.headers.part; part; part = part->next) {
        h = part->elts;
        for (i = 0; i < part->nelts; i++) {
            if (h[i].next == from) {
                h[i].next = to;
            }
        }
    }
#endif
}


/*
 * Removes every client header the module could set (and look-alikes such
 * as X_Auth_User_Id), so a backend never trusts a forged identity.  Known
 * nginx headers are never in that set (checked at configuration time), so
 * only pointers to the elements shifted down need fixing.
 */
static void
ngx_http_restauth_strip_headers(ngx_http_request_t *r,
    ngx_http_restauth_loc_conf_t *rlcf)
{
    ngx_uint_t        i, j;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    for (part = &r->headers_in.headers.part; part; part = part->next) {
        h = part->elts;
        i = 0;

        while (i < part->nelts) {
            if (!ngx_http_restauth_is_ours(rlcf, &h[i].key)) {
                i++;
                continue;
            }

            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "restauth: removed client header \"%V\"",
                          &h[i].key);

            for (j = i + 1; j < part->nelts; j++) {
                h[j - 1] = h[j];
                ngx_http_restauth_relocate(r, &h[j], &h[j - 1]);
            }

            part->nelts--;
        }
    }
}


static ngx_int_t
ngx_http_restauth_add_claim_header(ngx_http_request_t *r,
    ngx_http_restauth_protect_ctx_t *pctx, ngx_http_restauth_claim_header_t *ch)
{
    restauth_str_t    path, value;
    ngx_table_elt_t  *h;

    path.data = (const char *) ch->claim.data;
    path.len = ch->claim.len;

    if (!restauth_identity_claim(pctx->identity, path, &value)) {
        return NGX_OK;      /* an absent claim sends no header */
    }

    h = ngx_list_push(&r->headers_in.headers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    h->hash = ch->hash;
    h->key = ch->name;
    h->lowcase_key = ch->lowcase.data;
    h->value.len = value.len;
    h->value.data = ngx_pnalloc(r->pool, value.len);
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif

    if (h->value.data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(h->value.data, value.data, value.len);

    return NGX_OK;
}


static ngx_int_t
ngx_http_restauth_add_claim_headers(ngx_http_request_t *r,
    ngx_http_restauth_loc_conf_t *rlcf, ngx_http_restauth_protect_ctx_t *pctx)
{
    ngx_uint_t                         i;
    ngx_http_restauth_claim_header_t  *ch;

    for (i = 0; i < NGX_HTTP_RESTAUTH_NDEFAULT_HEADERS; i++) {
        if (ngx_http_restauth_add_claim_header(r, pctx,
                                        &ngx_http_restauth_default_headers[i])
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    if (rlcf->claim_headers) {
        ch = rlcf->claim_headers->elts;

        for (i = 0; i < rlcf->claim_headers->nelts; i++) {
            if (ngx_http_restauth_add_claim_header(r, pctx, &ch[i]) != NGX_OK) {
                return NGX_ERROR;
            }
        }
    }

    return NGX_OK;
}


/* restauth_require: every directive must hold; any listed value matches;
 * an array claim matches when one of its elements does. */
static ngx_uint_t
ngx_http_restauth_requirements_met(ngx_http_restauth_loc_conf_t *rlcf,
    ngx_http_restauth_protect_ctx_t *pctx)
{
    u_char                       *p, *last, *comma;
    ngx_str_t                    *v;
    ngx_uint_t                    i, k, met;
    restauth_str_t                path, value;
    ngx_http_restauth_require_t  *req;

    if (rlcf->requires == NULL) {
        return 1;
    }

    req = rlcf->requires->elts;

    for (i = 0; i < rlcf->requires->nelts; i++) {
        path.data = (const char *) req[i].claim.data;
        path.len = req[i].claim.len;

        if (!restauth_identity_claim(pctx->identity, path, &value)) {
            return 0;
        }

        v = req[i].values->elts;
        met = 0;
        p = (u_char *) value.data;
        last = p + value.len;

        while (!met && p <= last) {
            comma = ngx_strlchr(p, last, ',');
            if (comma == NULL) {
                comma = last;
            }

            for (k = 0; k < req[i].values->nelts; k++) {
                if ((size_t) (comma - p) == v[k].len
                    && ngx_strncmp(p, v[k].data, v[k].len) == 0)
                {
                    met = 1;
                    break;
                }
            }

            p = comma + 1;
        }

        if (!met) {
            return 0;
        }
    }

    return 1;
}


static ngx_int_t
ngx_http_restauth_deny(ngx_http_request_t *r,
    ngx_http_restauth_loc_conf_t *rlcf, restauth_token_status_t status)
{
    size_t            len;
    u_char           *p;
    uintptr_t         escape;
    ngx_int_t         rc;
    ngx_str_t        *accept;
    restauth_str_t    challenge;
    ngx_table_elt_t  *h;

    static ngx_str_t  accept_name = ngx_string("Accept");

    if (ngx_http_discard_request_body(r) != NGX_OK) {
        r->keepalive = 0;
    }

    if (status == RESTAUTH_TOKEN_CSRF_FAILED) {
        rc = ngx_http_restauth_send_json(r, NGX_HTTP_FORBIDDEN,
                                         restauth_token_error_body(status));
        ngx_http_finalize_request(r, rc);
        return NGX_DONE;
    }

    accept = ngx_http_restauth_find_header(r, &accept_name);

    /* Browsers navigating to a page go to the login page instead. */
    if (rlcf->login_url.len && accept
        && ngx_strlcasestrn(accept->data, accept->data + accept->len,
                            (u_char *) "text/html", 9 - 1) != NULL
        && (r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD)))
    {
        escape = 2 * ngx_escape_uri(NULL, r->unparsed_uri.data,
                                    r->unparsed_uri.len,
                                    NGX_ESCAPE_URI_COMPONENT);
        len = rlcf->login_url.len + sizeof("?next=") - 1
              + r->unparsed_uri.len + escape;

        p = ngx_pnalloc(r->pool, len);
        if (p == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h = ngx_list_push(&r->headers_out.headers);
        if (h == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        h->hash = 1;
        ngx_str_set(&h->key, "Location");
        h->value.data = p;
        p = ngx_cpymem(p, rlcf->login_url.data, rlcf->login_url.len);
        *p++ = ngx_strlchr(rlcf->login_url.data,
                           rlcf->login_url.data + rlcf->login_url.len, '?')
               ? '&' : '?';
        p = ngx_cpymem(p, "next=", 5);
        p = (u_char *) ngx_escape_uri(p, r->unparsed_uri.data,
                                      r->unparsed_uri.len,
                                      NGX_ESCAPE_URI_COMPONENT);
        h->value.len = p - h->value.data;

        r->headers_out.location = h;

        return NGX_HTTP_MOVED_TEMPORARILY;
    }

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    challenge = restauth_token_challenge(status);

    h->hash = 1;
    ngx_str_set(&h->key, "WWW-Authenticate");
    h->value.data = (u_char *) challenge.data;
    h->value.len = challenge.len;

    rc = ngx_http_restauth_send_json(r, NGX_HTTP_UNAUTHORIZED,
                                     restauth_token_error_body(status));
    ngx_http_finalize_request(r, rc);

    return NGX_DONE;
}


static void
ngx_http_restauth_session_reply(redisAsyncContext *ac, void *reply,
    void *privdata)
{
    redisReply                         *rep = reply;
    ngx_connection_t                   *c;
    ngx_http_request_t                 *r;
    ngx_http_restauth_protect_ctx_t    *pctx;
    ngx_http_restauth_session_check_t  *check = privdata;

    r = check->request;

    if (r == NULL) {
        ngx_free(check);
        return;
    }

    if (check->timer.timer_set) {
        ngx_del_timer(&check->timer);
    }

    pctx = check->pctx;
    pctx->check = NULL;
    pctx->session_checked = 1;

    if (rep == NULL || rep->type != REDIS_REPLY_INTEGER) {
        pctx->session_unknown = 1;

    } else {
        pctx->session_alive = (rep->integer == 1);
    }

    ngx_free(check);

    c = r->connection;

    ngx_http_core_run_phases(r);
    ngx_http_run_posted_requests(c);
}


static void
ngx_http_restauth_session_timeout(ngx_event_t *ev)
{
    ngx_log_error(NGX_LOG_ERR, ev->log, 0,
                  "restauth: redis did not answer within "
                  "restauth_redis_timeout, resetting the connection");

    /* Answers the EXISTS (and everything else pending) with NULL. */
    ngx_http_restauth_redis_reset(ngx_http_restauth_redis_conn);
}


/* Starts the EXISTS for restauth_check_session.  NGX_AGAIN: the phases
 * resume from the reply callback. */
static ngx_int_t
ngx_http_restauth_check_session(ngx_http_request_t *r,
    ngx_http_restauth_loc_conf_t *rlcf, ngx_http_restauth_protect_ctx_t *pctx)
{
    restauth_str_t                      key;
    ngx_http_restauth_redis_t          *rd;
    ngx_http_restauth_main_conf_t      *rmcf;
    ngx_http_restauth_session_check_t  *check;

    if (!restauth_identity_session_key(rlcf->core, pctx->identity, &key)) {
        pctx->session_checked = 1;      /* no session: treat as revoked */
        return NGX_OK;
    }

    rd = ngx_http_restauth_redis_conn;

    if (rd == NULL
        || (rd->link == NULL && ngx_http_restauth_redis_connect(rd) != NGX_OK))
    {
        pctx->session_checked = 1;
        pctx->session_unknown = 1;
        return NGX_OK;
    }

    check = ngx_calloc(sizeof(ngx_http_restauth_session_check_t),
                       r->connection->log);
    if (check == NULL) {
        return NGX_ERROR;
    }

    check->request = r;
    check->pctx = pctx;
    check->timer.handler = ngx_http_restauth_session_timeout;
    check->timer.data = check;
    check->timer.log = r->connection->log;

    if (redisAsyncCommand(rd->link->ac, ngx_http_restauth_session_reply, check,
                          "EXISTS %b", key.data, key.len)
        != REDIS_OK)
    {
        ngx_free(check);
        pctx->session_checked = 1;
        pctx->session_unknown = 1;
        return NGX_OK;
    }

    pctx->check = check;

    rmcf = ngx_http_get_module_main_conf(r, ngx_http_restauth_module);
    ngx_add_timer(&check->timer, rmcf->redis_timeout);

    return NGX_AGAIN;
}


static ngx_int_t
ngx_http_restauth_access_handler(ngx_http_request_t *r)
{
    ngx_int_t                         rc;
    restauth_credentials_t            cred;
    ngx_http_restauth_loc_conf_t     *rlcf;
    ngx_http_restauth_protect_ctx_t  *pctx;

    static ngx_str_t  csrf_header = ngx_string("X-CSRFToken");

    rlcf = ngx_http_get_module_loc_conf(r, ngx_http_restauth_module);

    if (rlcf->protect == NGX_HTTP_RESTAUTH_PROTECT_OFF || rlcf->api) {
        return NGX_DECLINED;
    }

    pctx = ngx_http_restauth_protect_ctx(r, 1);
    if (pctx == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    if (!pctx->verified) {
        pctx->verified = 1;

        ngx_http_restauth_strip_headers(r, rlcf);

        ngx_memzero(&cred, sizeof(restauth_credentials_t));

        ngx_http_restauth_str(&cred.method, &r->method_name);
        ngx_http_restauth_str(&cred.authorization,
                              r->headers_in.authorization
                              ? &r->headers_in.authorization->value : NULL);
        ngx_http_restauth_str(&cred.csrf_header,
                              ngx_http_restauth_find_header(r, &csrf_header));
        cred.now = ngx_time();

        if (ngx_http_restauth_cookies(r, &cred.cookie) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        pctx->status = restauth_protect_verify(rlcf->core, &cred,
                                               &pctx->identity);

        if (pctx->status == RESTAUTH_TOKEN_OK
            && ngx_http_restauth_add_claim_headers(r, rlcf, pctx) != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (pctx->status != RESTAUTH_TOKEN_OK
            && pctx->status != RESTAUTH_TOKEN_MISSING)
        {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "restauth: rejected access token (%s)",
                          pctx->status == RESTAUTH_TOKEN_WRONG_TYPE
                          ? "wrong type"
                          : pctx->status == RESTAUTH_TOKEN_BAD_HEADER
                            ? "malformed Authorization header"
                            : pctx->status == RESTAUTH_TOKEN_CSRF_FAILED
                              ? "CSRF check failed" : "invalid");
        }
    }

    if (pctx->status == RESTAUTH_TOKEN_OK && rlcf->check_session) {
        if (pctx->check) {
            return NGX_AGAIN;
        }

        if (!pctx->session_checked) {
            rc = ngx_http_restauth_check_session(r, rlcf, pctx);

            if (rc == NGX_AGAIN) {
                return NGX_AGAIN;
            }

            if (rc == NGX_ERROR) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }
        }

        if (pctx->session_unknown) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                          "restauth: cannot check the session, redis is "
                          "unavailable");

            if (ngx_http_discard_request_body(r) != NGX_OK) {
                r->keepalive = 0;
            }

            rc = ngx_http_restauth_send_error(r,
                                              NGX_HTTP_SERVICE_UNAVAILABLE);
            ngx_http_finalize_request(r, rc);
            return NGX_DONE;
        }

        if (!pctx->session_alive) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "restauth: the token's session was revoked");
            return ngx_http_restauth_deny(r, rlcf, RESTAUTH_TOKEN_INVALID);
        }
    }

    if (pctx->status == RESTAUTH_TOKEN_OK) {
        if (!ngx_http_restauth_requirements_met(rlcf, pctx)) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "restauth: token does not meet restauth_require");

            if (ngx_http_discard_request_body(r) != NGX_OK) {
                r->keepalive = 0;
            }

            rc = ngx_http_restauth_send_error(r, NGX_HTTP_FORBIDDEN);
            ngx_http_finalize_request(r, rc);
            return NGX_DONE;
        }

        return NGX_OK;
    }

    if (pctx->status == RESTAUTH_TOKEN_MISSING
        && rlcf->protect == NGX_HTTP_RESTAUTH_PROTECT_OPTIONAL)
    {
        return NGX_DECLINED;
    }

    return ngx_http_restauth_deny(r, rlcf, pctx->status);
}


/* ---- variables ----------------------------------------------------------- */

static ngx_int_t
ngx_http_restauth_claim_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, ngx_str_t *claim)
{
    restauth_str_t                    path, value;
    ngx_http_restauth_protect_ctx_t  *pctx;

    pctx = ngx_http_restauth_protect_ctx(r, 0);

    path.data = (const char *) claim->data;
    path.len = claim->len;

    if (pctx == NULL || pctx->identity == NULL
        || !restauth_identity_claim(pctx->identity, path, &value))
    {
        v->not_found = 1;
        return NGX_OK;
    }

    v->len = value.len;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;
    v->data = ngx_pnalloc(r->pool, value.len);

    if (v->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(v->data, value.data, value.len);

    return NGX_OK;
}


static ngx_int_t
ngx_http_restauth_user_id_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t  claim = ngx_string("user_id");

    return ngx_http_restauth_claim_variable(r, v, &claim);
}


static ngx_int_t
ngx_http_restauth_prefix_claim_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_str_t  *name = (ngx_str_t *) data;
    ngx_str_t   claim;

    claim.data = name->data + sizeof("restauth_claim_") - 1;
    claim.len = name->len - (sizeof("restauth_claim_") - 1);

    return ngx_http_restauth_claim_variable(r, v, &claim);
}


static ngx_int_t
ngx_http_restauth_token_status_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_http_restauth_protect_ctx_t  *pctx;

    static ngx_str_t  names[] = {
        ngx_string("valid"), ngx_string("missing"),
        ngx_string("bad_header"), ngx_string("invalid"),
        ngx_string("wrong_type")
    };

    pctx = ngx_http_restauth_protect_ctx(r, 0);

    if (pctx == NULL || !pctx->verified
        || (ngx_uint_t) pctx->status >= sizeof(names) / sizeof(ngx_str_t))
    {
        v->not_found = 1;
        return NGX_OK;
    }

    v->len = names[pctx->status].len;
    v->data = names[pctx->status].data;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}


static ngx_http_variable_t  ngx_http_restauth_vars[] = {

    { ngx_string("restauth_user_id"), NULL,
      ngx_http_restauth_user_id_variable, 0, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("restauth_token_status"), NULL,
      ngx_http_restauth_token_status_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("restauth_claim_"), NULL,
      ngx_http_restauth_prefix_claim_variable, 0,
      NGX_HTTP_VAR_NOCACHEABLE|NGX_HTTP_VAR_PREFIX, 0 },

      ngx_http_null_variable
};


static ngx_int_t
ngx_http_restauth_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_restauth_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_restauth_init(ngx_conf_t *cf)
{
    ngx_uint_t                  i;
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    for (i = 0; i < NGX_HTTP_RESTAUTH_NDEFAULT_HEADERS; i++) {
        ngx_http_restauth_default_headers[i].hash = ngx_hash_key(
                            ngx_http_restauth_default_headers[i].lowcase.data,
                            ngx_http_restauth_default_headers[i].lowcase.len);
    }

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_restauth_access_handler;

    return NGX_OK;
}


/* restauth_rate_limit <kind> <count> <window> | <kind> off */
static char *
ngx_http_restauth_rate_limit(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_restauth_loc_conf_t *rlcf = conf;

    time_t      window;
    ngx_int_t   count;
    ngx_str_t  *value;
    ngx_uint_t  i;

    value = cf->args->elts;

    for (i = 0; i < RESTAUTH_LIMIT_COUNT; i++) {
        if (value[1].len == ngx_http_restauth_limit_defaults[i].name.len
            && ngx_strncmp(value[1].data,
                           ngx_http_restauth_limit_defaults[i].name.data,
                           value[1].len) == 0)
        {
            break;
        }
    }

    if (i == RESTAUTH_LIMIT_COUNT) {
        return "has an unknown kind (login_ip, login_account, "
               "registration_ip, mail_address or mail_ip)";
    }

    if (rlcf->limit_count[i] != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    if (cf->args->nelts == 3) {
        if (ngx_strcmp(value[2].data, "off") != 0) {
            return "needs a count and a window, or \"off\"";
        }

        rlcf->limit_count[i] = 0;
        rlcf->limit_window[i] = 1;
        return NGX_CONF_OK;
    }

    count = ngx_atoi(value[2].data, value[2].len);
    window = ngx_parse_time(&value[3], 1);

    if (count <= 0 || window == (time_t) NGX_ERROR || window <= 0) {
        return "needs a positive count and a time window such as 15m";
    }

    rlcf->limit_count[i] = count;
    rlcf->limit_window[i] = window;

    return NGX_CONF_OK;
}


/* restauth_jwt_claims field...: kept as one space-separated string; the
 * core validates the names when the location's API object is built. */
static char *
ngx_http_restauth_jwt_claims(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    u_char      *p;
    size_t       len;
    ngx_str_t   *field, *value;
    ngx_uint_t   i;

    field = (ngx_str_t *) ((char *) conf + cmd->offset);

    if (field->data) {
        return "is duplicate";
    }

    value = cf->args->elts;
    len = 0;

    for (i = 1; i < cf->args->nelts; i++) {
        len += value[i].len + 1;
    }

    p = ngx_pnalloc(cf->pool, len);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    field->data = p;

    for (i = 1; i < cf->args->nelts; i++) {
        p = ngx_cpymem(p, value[i].data, value[i].len);
        *p++ = ' ';
    }

    field->len = len - 1;

    return NGX_CONF_OK;
}


static char *
ngx_http_restauth_claim_header(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_restauth_loc_conf_t *rlcf = conf;

    u_char                            *p;
    ngx_str_t                         *value;
    ngx_uint_t                         i;
    ngx_http_header_t                 *hh;
    ngx_http_restauth_claim_header_t  *ch;

    value = cf->args->elts;

    for (i = 0; i < value[1].len; i++) {
        p = &value[1].data[i];

        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
              || (*p >= '0' && *p <= '9') || *p == '-'))
        {
            return "has an invalid header name (letters, digits and '-')";
        }
    }

    /* nginx keeps pointers to its known headers; never shadow one. */
    for (hh = ngx_http_headers_in; hh->name.len; hh++) {
        if (hh->name.len == value[1].len
            && ngx_strncasecmp(hh->name.data, value[1].data, value[1].len) == 0)
        {
            return "cannot set a header nginx itself interprets";
        }
    }

    if (rlcf->claim_headers == NULL) {
        rlcf->claim_headers = ngx_array_create(cf->pool, 4,
                                     sizeof(ngx_http_restauth_claim_header_t));
        if (rlcf->claim_headers == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    ch = ngx_array_push(rlcf->claim_headers);
    if (ch == NULL) {
        return NGX_CONF_ERROR;
    }

    ch->name = value[1];
    ch->claim = value[2];
    ch->lowcase.len = value[1].len;
    ch->lowcase.data = ngx_pnalloc(cf->pool, value[1].len);
    if (ch->lowcase.data == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_strlow(ch->lowcase.data, value[1].data, value[1].len);
    ch->match = ch->lowcase;
    ch->hash = ngx_hash_key(ch->lowcase.data, ch->lowcase.len);

    return NGX_CONF_OK;
}


static char *
ngx_http_restauth_require(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_restauth_loc_conf_t *rlcf = conf;

    ngx_str_t                    *value, *v;
    ngx_uint_t                    i;
    ngx_http_restauth_require_t  *req;

    value = cf->args->elts;

    if (rlcf->requires == NULL) {
        rlcf->requires = ngx_array_create(cf->pool, 2,
                                          sizeof(ngx_http_restauth_require_t));
        if (rlcf->requires == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    req = ngx_array_push(rlcf->requires);
    if (req == NULL) {
        return NGX_CONF_ERROR;
    }

    req->claim = value[1];
    req->values = ngx_array_create(cf->pool, cf->args->nelts - 2,
                                   sizeof(ngx_str_t));
    if (req->values == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = 2; i < cf->args->nelts; i++) {
        v = ngx_array_push(req->values);
        if (v == NULL) {
            return NGX_CONF_ERROR;
        }

        *v = value[i];
    }

    return NGX_CONF_OK;
}


/* ---- configuration ------------------------------------------------------- */

static void *
ngx_http_restauth_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_restauth_main_conf_t  *rmcf;

    rmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_restauth_main_conf_t));
    if (rmcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     rmcf->redis_addr = { 0, NULL };
     *     rmcf->redis_password = { 0, NULL };
     *     rmcf->redis_prefix = { 0, NULL };
     *     rmcf->thread_pool_name = { 0, NULL };
     *     rmcf->mail_stream = { 0, NULL };
     *     rmcf->common_passwords = { 0, NULL };
     */

    rmcf->redis_db = NGX_CONF_UNSET;
    rmcf->redis_timeout = NGX_CONF_UNSET_MSEC;
    rmcf->password_iterations = NGX_CONF_UNSET_UINT;

    return rmcf;
}


static char *
ngx_http_restauth_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_restauth_main_conf_t *rmcf = conf;

    if (rmcf->redis_addr.len == 0
        && ngx_http_restauth_redis(cf, NULL, rmcf) != NGX_CONF_OK)
    {
        return NGX_CONF_ERROR;
    }

    ngx_conf_init_value(rmcf->redis_db, 0);
    ngx_conf_init_msec_value(rmcf->redis_timeout, 1000);
    ngx_conf_init_uint_value(rmcf->password_iterations, 600000);

    if (rmcf->redis_db < 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "restauth_redis_db must not be negative");
        return NGX_CONF_ERROR;
    }

    if (rmcf->password_iterations < 1000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "restauth_password_iterations must be at least "
                           "1000");
        return NGX_CONF_ERROR;
    }

    if (rmcf->redis_prefix.data == NULL) {
        ngx_str_set(&rmcf->redis_prefix, "restauth:");
    }

    if (rmcf->mail_stream.data == NULL) {
        ngx_str_set(&rmcf->mail_stream, "restauth:mail");
    }

    if (rmcf->thread_pool_name.data == NULL) {
        ngx_str_set(&rmcf->thread_pool_name, "default");
    }

    /* Registers the name; nginx reports an unknown pool at init time
     * ("default" is created implicitly). */
    rmcf->thread_pool = ngx_thread_pool_add(cf, &rmcf->thread_pool_name);
    if (rmcf->thread_pool == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static void *
ngx_http_restauth_create_loc_conf(ngx_conf_t *cf)
{
    ngx_uint_t                     i;
    ngx_http_restauth_loc_conf_t  *rlcf;

    rlcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_restauth_loc_conf_t));
    if (rlcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     rlcf->keys = NULL;
     *     rlcf->core = NULL;
     *     rlcf->issuer = { 0, NULL };
     *     rlcf->audience = { 0, NULL };
     *     rlcf->cookie_* strings = { 0, NULL };
     *     rlcf->password_reset_url = { 0, NULL };
     *     rlcf->email_verify_url = { 0, NULL };
     */

    rlcf->api = NGX_CONF_UNSET;
    rlcf->protect = NGX_CONF_UNSET_UINT;
    rlcf->access_lifetime = NGX_CONF_UNSET;
    rlcf->refresh_lifetime = NGX_CONF_UNSET;
    rlcf->leeway = NGX_CONF_UNSET;
    rlcf->reset_token_lifetime = NGX_CONF_UNSET;
    rlcf->verify_token_lifetime = NGX_CONF_UNSET;
    rlcf->cookie_httponly = NGX_CONF_UNSET;
    rlcf->cookie_secure = NGX_CONF_UNSET;
    rlcf->email_verification = NGX_CONF_UNSET_UINT;
    rlcf->password_min_length = NGX_CONF_UNSET_UINT;
    rlcf->old_password_field = NGX_CONF_UNSET;
    rlcf->logout_on_password_change = NGX_CONF_UNSET;
    rlcf->csrf = NGX_CONF_UNSET;
    rlcf->token_mode = NGX_CONF_UNSET_UINT;
    rlcf->check_session = NGX_CONF_UNSET;

    for (i = 0; i < RESTAUTH_LIMIT_COUNT; i++) {
        rlcf->limit_count[i] = NGX_CONF_UNSET_UINT;
        rlcf->limit_window[i] = NGX_CONF_UNSET;
    }
    rlcf->max_body_size = NGX_CONF_UNSET_SIZE;

    /*
     * set by ngx_pcalloc():
     *
     *     rlcf->claim_headers = NULL;
     *     rlcf->requires = NULL;
     *     rlcf->login_url = { 0, NULL };
     */

    return rlcf;
}


static void
ngx_http_restauth_core_cleanup(void *data)
{
    restauth_api_destroy(data);
}


static void
ngx_http_restauth_keyset_cleanup(void *data)
{
    restauth_keyset_destroy(data);
}


static void
ngx_http_restauth_settings_str(restauth_str_t *dst, ngx_str_t *src)
{
    dst->data = src->data ? (const char *) src->data : "";
    dst->len = src->len;
}


static char *
ngx_http_restauth_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_restauth_loc_conf_t *prev = parent;
    ngx_http_restauth_loc_conf_t *conf = child;

    char                            err[256];
    ngx_uint_t                      i;
    ngx_pool_cleanup_t             *cln;
    restauth_settings_t             s;
    ngx_http_restauth_main_conf_t  *rmcf;

    ngx_conf_merge_value(conf->api, prev->api, 0);
    ngx_conf_merge_uint_value(conf->protect, prev->protect,
                              NGX_HTTP_RESTAUTH_PROTECT_OFF);

    if (conf->keys == NULL) {
        conf->keys = prev->keys;
    }

    if (conf->claim_headers == NULL) {
        conf->claim_headers = prev->claim_headers;
    }

    if (conf->requires == NULL) {
        conf->requires = prev->requires;
    }

    ngx_conf_merge_str_value(conf->login_url, prev->login_url, "");

    ngx_conf_merge_sec_value(conf->access_lifetime, prev->access_lifetime,
                             300);
    ngx_conf_merge_sec_value(conf->refresh_lifetime, prev->refresh_lifetime,
                             86400);
    ngx_conf_merge_sec_value(conf->leeway, prev->leeway, 0);
    ngx_conf_merge_sec_value(conf->reset_token_lifetime,
                             prev->reset_token_lifetime, 86400);
    ngx_conf_merge_sec_value(conf->verify_token_lifetime,
                             prev->verify_token_lifetime, 3 * 86400);
    ngx_conf_merge_str_value(conf->issuer, prev->issuer, "");
    ngx_conf_merge_str_value(conf->audience, prev->audience, "");
    ngx_conf_merge_str_value(conf->user_claims, prev->user_claims, "");
    ngx_conf_merge_str_value(conf->cookie_access, prev->cookie_access, "");
    ngx_conf_merge_str_value(conf->cookie_refresh, prev->cookie_refresh, "");
    ngx_conf_merge_str_value(conf->cookie_refresh_path,
                             prev->cookie_refresh_path, "/");
    ngx_conf_merge_str_value(conf->cookie_domain, prev->cookie_domain, "");
    ngx_conf_merge_str_value(conf->cookie_samesite, prev->cookie_samesite,
                             "Lax");
    ngx_conf_merge_value(conf->cookie_httponly, prev->cookie_httponly, 1);
    ngx_conf_merge_value(conf->cookie_secure, prev->cookie_secure, 0);
    ngx_conf_merge_uint_value(conf->email_verification,
                              prev->email_verification,
                              RESTAUTH_VERIFY_OPTIONAL);
    ngx_conf_merge_str_value(conf->password_reset_url,
                             prev->password_reset_url, "");
    ngx_conf_merge_str_value(conf->email_verify_url, prev->email_verify_url,
                             "");
    ngx_conf_merge_uint_value(conf->password_min_length,
                              prev->password_min_length, 8);
    ngx_conf_merge_value(conf->old_password_field, prev->old_password_field,
                         0);
    ngx_conf_merge_value(conf->logout_on_password_change,
                         prev->logout_on_password_change, 1);
    ngx_conf_merge_value(conf->csrf, prev->csrf, 1);
    ngx_conf_merge_uint_value(conf->token_mode, prev->token_mode,
                              NGX_HTTP_RESTAUTH_TOKENS_JWT);
    ngx_conf_merge_value(conf->check_session, prev->check_session, 0);

    for (i = 0; i < RESTAUTH_LIMIT_COUNT; i++) {
        ngx_conf_merge_uint_value(conf->limit_count[i], prev->limit_count[i],
                        ngx_http_restauth_limit_defaults[i].count);
        ngx_conf_merge_sec_value(conf->limit_window[i], prev->limit_window[i],
                        ngx_http_restauth_limit_defaults[i].window);
    }
    ngx_conf_merge_size_value(conf->max_body_size, prev->max_body_size,
                              16384);

    if (conf->cookie_samesite.len
        && ngx_strcasecmp(conf->cookie_samesite.data, (u_char *) "Lax") != 0
        && ngx_strcasecmp(conf->cookie_samesite.data, (u_char *) "Strict")
           != 0
        && ngx_strcasecmp(conf->cookie_samesite.data, (u_char *) "None") != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "restauth_cookie_samesite must be Lax, Strict or "
                           "None");
        return NGX_CONF_ERROR;
    }

    if (!conf->api && conf->protect == NGX_HTTP_RESTAUTH_PROTECT_OFF) {
        return NGX_CONF_OK;
    }

    if (conf->protect != NGX_HTTP_RESTAUTH_PROTECT_OFF && !conf->api
        && conf->token_mode == NGX_HTTP_RESTAUTH_TOKENS_OPAQUE)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "restauth_protect verifies JWTs and cannot be "
                           "used with \"restauth_token_mode opaque\"");
        return NGX_CONF_ERROR;
    }

    if ((conf->keys == NULL || restauth_keyset_size(conf->keys) == 0)
        && conf->token_mode == NGX_HTTP_RESTAUTH_TOKENS_JWT)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "restauth_api and restauth_protect need at least "
                           "one \"restauth_jwt_key\"");
        return NGX_CONF_ERROR;
    }

    rmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_restauth_module);

    if (conf->api || conf->check_session) {
        rmcf->used = 1;
    }

    ngx_memzero(&s, sizeof(restauth_settings_t));

    ngx_http_restauth_settings_str(&s.redis_prefix, &rmcf->redis_prefix);
    ngx_http_restauth_settings_str(&s.mail_stream, &rmcf->mail_stream);
    ngx_http_restauth_settings_str(&s.common_passwords_file,
                                   &rmcf->common_passwords);
    ngx_http_restauth_settings_str(&s.password_reset_url,
                                   &conf->password_reset_url);
    ngx_http_restauth_settings_str(&s.email_verify_url,
                                   &conf->email_verify_url);
    ngx_http_restauth_settings_str(&s.issuer, &conf->issuer);
    ngx_http_restauth_settings_str(&s.audience, &conf->audience);
    ngx_http_restauth_settings_str(&s.user_claims, &conf->user_claims);
    ngx_http_restauth_settings_str(&s.cookie_access, &conf->cookie_access);
    ngx_http_restauth_settings_str(&s.cookie_refresh, &conf->cookie_refresh);
    ngx_http_restauth_settings_str(&s.cookie_refresh_path,
                                   &conf->cookie_refresh_path);
    ngx_http_restauth_settings_str(&s.cookie_domain, &conf->cookie_domain);
    ngx_http_restauth_settings_str(&s.cookie_samesite,
                                   &conf->cookie_samesite);

    s.access_lifetime = conf->access_lifetime;
    s.refresh_lifetime = conf->refresh_lifetime;
    s.leeway = conf->leeway;
    s.reset_token_lifetime = conf->reset_token_lifetime;
    s.verify_token_lifetime = conf->verify_token_lifetime;
    s.password_iterations = (unsigned) rmcf->password_iterations;
    s.password_min_length = (unsigned) conf->password_min_length;
    s.email_verification = (int) conf->email_verification;
    s.cookie_httponly = (int) conf->cookie_httponly;
    s.cookie_secure = (int) conf->cookie_secure;
    s.old_password_field = (int) conf->old_password_field;
    s.logout_on_password_change = (int) conf->logout_on_password_change;
    s.csrf = (int) conf->csrf;
    s.opaque_tokens = (conf->token_mode == NGX_HTTP_RESTAUTH_TOKENS_OPAQUE);

    for (i = 0; i < RESTAUTH_LIMIT_COUNT; i++) {
        s.limit_count[i] = (unsigned) conf->limit_count[i];
        s.limit_window[i] = conf->limit_window[i];
    }

    conf->core = restauth_api_create(&s, conf->keys, err, sizeof(err));

    if (conf->core == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "restauth: %s", err);
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        restauth_api_destroy(conf->core);
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_http_restauth_core_cleanup;
    cln->data = conf->core;

    return NGX_CONF_OK;
}


static char *
ngx_http_restauth_api(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_restauth_loc_conf_t *rlcf = conf;

    ngx_http_core_loc_conf_t  *clcf;

    if (rlcf->api != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    rlcf->api = 1;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_restauth_api_handler;

    return NGX_CONF_OK;
}


static char *
ngx_http_restauth_redis(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_restauth_main_conf_t *rmcf = conf;

    u_char     *p;
    ngx_str_t  *value, text;
    ngx_url_t   u;

    if (cmd != NULL) {
        if (rmcf->redis_addr.len) {
            return "is duplicate";
        }

        value = cf->args->elts;
        text = value[1];

    } else {
        ngx_str_set(&text, "127.0.0.1:6379");
    }

    rmcf->redis_addr = text;

    if (text.len > 5 && ngx_strncmp(text.data, "unix:", 5) == 0) {
        rmcf->redis_unix = 1;
        rmcf->redis_host.len = text.len - 5;
        rmcf->redis_host.data = ngx_pnalloc(cf->pool, text.len - 4);
        if (rmcf->redis_host.data == NULL) {
            return NGX_CONF_ERROR;
        }

        ngx_cpystrn(rmcf->redis_host.data, text.data + 5, text.len - 4);
        return NGX_CONF_OK;
    }

    /* Resolve now: getaddrinfo() would block a worker. */
    ngx_memzero(&u, sizeof(ngx_url_t));
    u.url = text;
    u.default_port = 6379;

    if (ngx_parse_url(cf->pool, &u) != NGX_OK) {
        if (u.err) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "%s in restauth_redis \"%V\"", u.err, &text);
        }

        return NGX_CONF_ERROR;
    }

    if (u.naddrs == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "restauth_redis \"%V\" has no address", &text);
        return NGX_CONF_ERROR;
    }

    p = ngx_pnalloc(cf->pool, NGX_SOCKADDR_STRLEN + 1);
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    rmcf->redis_host.data = p;
    rmcf->redis_host.len = ngx_sock_ntop(u.addrs[0].sockaddr,
                                         u.addrs[0].socklen, p,
                                         NGX_SOCKADDR_STRLEN, 0);
    p[rmcf->redis_host.len] = '\0';

    /* ngx_sock_ntop() brackets IPv6 addresses; hiredis wants them bare */
    if (p[0] == '[') {
        rmcf->redis_host.len -= 2;
        ngx_memmove(p, p + 1, rmcf->redis_host.len);
        p[rmcf->redis_host.len] = '\0';
    }

    rmcf->redis_port = ngx_inet_get_port(u.addrs[0].sockaddr);

    return NGX_CONF_OK;
}


/* Reads a small secret file at configuration time. */
static ngx_int_t
ngx_http_restauth_read_file(ngx_conf_t *cf, ngx_str_t *path, ngx_str_t *out,
    size_t max)
{
    ssize_t          n;
    ngx_fd_t         fd;
    ngx_file_info_t  fi;

    if (ngx_conf_full_name(cf->cycle, path, 1) != NGX_OK) {
        return NGX_ERROR;
    }

    fd = ngx_open_file(path->data, NGX_FILE_RDONLY, NGX_FILE_OPEN, 0);
    if (fd == NGX_INVALID_FILE) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_open_file_n " \"%V\" failed", path);
        return NGX_ERROR;
    }

    if (ngx_fd_info(fd, &fi) == NGX_FILE_ERROR
        || (size_t) ngx_file_size(&fi) > max)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"%V\" is not a regular file of at most %uz "
                           "bytes", path, max);
        ngx_close_file(fd);
        return NGX_ERROR;
    }

    out->len = (size_t) ngx_file_size(&fi);
    out->data = ngx_pnalloc(cf->pool, out->len + 1);
    if (out->data == NULL) {
        ngx_close_file(fd);
        return NGX_ERROR;
    }

    n = ngx_read_fd(fd, out->data, out->len);
    ngx_close_file(fd);

    if (n != (ssize_t) out->len) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, ngx_errno,
                           ngx_read_fd_n " \"%V\" failed", path);
        return NGX_ERROR;
    }

    out->data[out->len] = '\0';

    return NGX_OK;
}


/* A secret file: one line; trailing CR/LF are not part of the secret. */
static char *
ngx_http_restauth_read_secret(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_str_t  *field, *value, path;

    field = (ngx_str_t *) ((char *) conf + cmd->offset);

    if (field->data) {
        return "is duplicate";
    }

    value = cf->args->elts;
    path = value[1];

    if (ngx_http_restauth_read_file(cf, &path, field, 4096) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    while (field->len
           && (field->data[field->len - 1] == '\n'
               || field->data[field->len - 1] == '\r'))
    {
        field->len--;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_restauth_jwt_key(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_restauth_loc_conf_t *rlcf = conf;

    char                 err[256];
    ngx_str_t           *value, path, material, kid;
    restauth_str_t       alg_s, material_s, kid_s;
    ngx_pool_cleanup_t  *cln;

    value = cf->args->elts;

    ngx_str_null(&kid);

    if (cf->args->nelts == 4) {
        if (value[3].len <= 4
            || ngx_strncmp(value[3].data, "kid=", 4) != 0)
        {
            return "has an invalid third parameter, expected kid=<id>";
        }

        kid.data = value[3].data + 4;
        kid.len = value[3].len - 4;
    }

    if (rlcf->keys == NULL) {
        rlcf->keys = restauth_keyset_create();
        if (rlcf->keys == NULL) {
            return NGX_CONF_ERROR;
        }

        cln = ngx_pool_cleanup_add(cf->pool, 0);
        if (cln == NULL) {
            restauth_keyset_destroy(rlcf->keys);
            rlcf->keys = NULL;
            return NGX_CONF_ERROR;
        }

        cln->handler = ngx_http_restauth_keyset_cleanup;
        cln->data = rlcf->keys;
    }

    path = value[2];

    if (ngx_http_restauth_read_file(cf, &path, &material, 65536) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    /* HMAC secrets are files with one line: drop its line ending. */
    if (value[1].len > 2 && ngx_strncmp(value[1].data, "HS", 2) == 0) {
        while (material.len
               && (material.data[material.len - 1] == '\n'
                   || material.data[material.len - 1] == '\r'))
        {
            material.len--;
        }
    }

    alg_s.data = (const char *) value[1].data;
    alg_s.len = value[1].len;
    material_s.data = (const char *) material.data;
    material_s.len = material.len;
    kid_s.data = kid.data ? (const char *) kid.data : "";
    kid_s.len = kid.len;

    if (restauth_keyset_add(rlcf->keys, alg_s, material_s, kid_s, err,
                            sizeof(err))
        != 0)
    {
        ngx_explicit_memzero(material.data, material.len);
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "restauth_jwt_key \"%V\": %s",
                           &path, err);
        return NGX_CONF_ERROR;
    }

    ngx_explicit_memzero(material.data, material.len);

    return NGX_CONF_OK;
}
