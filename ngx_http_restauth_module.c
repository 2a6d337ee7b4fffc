
/*
 * ngx_http_restauth_module: a REST authentication API served by nginx
 * (restauth_api) and token verification at the edge (restauth_protect).
 *
 * This file holds the module definition, its directives and their
 * configuration; the handlers live in src/ngx_http_restauth_*.c (see
 * src/ngx_http_restauth_common.h) and everything about authentication in
 * the C++ core, reached through src/core/restauth.h.
 */


#include "ngx_http_restauth_common.h"


static void *ngx_http_restauth_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_restauth_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_restauth_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_restauth_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static char *ngx_http_restauth_api(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_restauth_redis(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_restauth_jobs(ngx_conf_t *cf, ngx_command_t *cmd,
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
static ngx_int_t ngx_http_restauth_init(ngx_conf_t *cf);
static ngx_int_t ngx_http_restauth_init_process(ngx_cycle_t *cycle);
static void ngx_http_restauth_exit_process(ngx_cycle_t *cycle);


/*
 * How each setting type of restauth.h's lists is marked unset, merged
 * and handed to the core.  STR settings are unset when ngx_pcalloc()
 * leaves them NULL.
 */
#define NGX_HTTP_RESTAUTH_UNSET_STR(field)
#define NGX_HTTP_RESTAUTH_UNSET_SEC(field)     field = NGX_CONF_UNSET
#define NGX_HTTP_RESTAUTH_UNSET_UINT(field)    field = NGX_CONF_UNSET_UINT
#define NGX_HTTP_RESTAUTH_UNSET_FLAG(field)    field = NGX_CONF_UNSET
#define NGX_HTTP_RESTAUTH_UNSET_VERIFY(field)  field = NGX_CONF_UNSET_UINT
#define NGX_HTTP_RESTAUTH_UNSET_TOKENS(field)  field = NGX_CONF_UNSET_UINT

#define NGX_HTTP_RESTAUTH_MERGE_STR     ngx_conf_merge_str_value
#define NGX_HTTP_RESTAUTH_MERGE_SEC     ngx_conf_merge_sec_value
#define NGX_HTTP_RESTAUTH_MERGE_UINT    ngx_conf_merge_uint_value
#define NGX_HTTP_RESTAUTH_MERGE_FLAG    ngx_conf_merge_value
#define NGX_HTTP_RESTAUTH_MERGE_VERIFY  ngx_conf_merge_uint_value
#define NGX_HTTP_RESTAUTH_MERGE_TOKENS  ngx_conf_merge_uint_value

#define NGX_HTTP_RESTAUTH_TO_CORE_STR(dst, src)                               \
    ngx_http_restauth_settings_str(&(dst), &(src))
#define NGX_HTTP_RESTAUTH_TO_CORE_SEC(dst, src)     (dst) = (int64_t) (src)
#define NGX_HTTP_RESTAUTH_TO_CORE_UINT(dst, src)    (dst) = (unsigned) (src)
#define NGX_HTTP_RESTAUTH_TO_CORE_FLAG(dst, src)    (dst) = (int) (src)
#define NGX_HTTP_RESTAUTH_TO_CORE_VERIFY(dst, src)  (dst) = (int) (src)
#define NGX_HTTP_RESTAUTH_TO_CORE_TOKENS(dst, src)  (dst) = (int) (src)


/* restauth_rate_limit: kinds and defaults, indexed by RESTAUTH_LIMIT_* */
static struct {
    ngx_str_t    name;
    ngx_uint_t   count;
    time_t       window;
} ngx_http_restauth_limit_defaults[] = {
#define NGX_HTTP_RESTAUTH_LIMIT_DEFAULT(id, kind, count, window)              \
    { ngx_string(#kind), count, window },
    RESTAUTH_LIMITS(NGX_HTTP_RESTAUTH_LIMIT_DEFAULT)
#undef NGX_HTTP_RESTAUTH_LIMIT_DEFAULT
};


static ngx_conf_enum_t  ngx_http_restauth_verification[] = {
    { ngx_string("none"), RESTAUTH_VERIFY_NONE },
    { ngx_string("optional"), RESTAUTH_VERIFY_OPTIONAL },
    { ngx_string("mandatory"), RESTAUTH_VERIFY_MANDATORY },
    { ngx_null_string, 0 }
};


static ngx_conf_enum_t  ngx_http_restauth_token_modes[] = {
    { ngx_string("jwt"), RESTAUTH_TOKENS_JWT },
    { ngx_string("opaque"), RESTAUTH_TOKENS_OPAQUE },
    { ngx_null_string, 0 }
};


static ngx_conf_enum_t  ngx_http_restauth_protect_modes[] = {
    { ngx_string("off"), NGX_HTTP_RESTAUTH_PROTECT_OFF },
    { ngx_string("on"), NGX_HTTP_RESTAUTH_PROTECT_ON },
    { ngx_string("optional"), NGX_HTTP_RESTAUTH_PROTECT_OPTIONAL },
    { ngx_null_string, 0 }
};


/* Each login's script evicts beyond it, and listing reads this many
 * sessions in one script: keep it small enough to stay cheap. */
static ngx_conf_num_bounds_t  ngx_http_restauth_max_sessions_bounds = {
    ngx_conf_check_num_bounds, 1, 1000
};


/* At least one entry kept; the core holds it as an unsigned. */
static ngx_conf_num_bounds_t  ngx_http_restauth_mail_stream_maxlen_bounds = {
    ngx_conf_check_num_bounds, 1, 1000000000
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
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE12,
      ngx_http_restauth_claim_header,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("restauth_strip_identity_headers"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_restauth_loc_conf_t, strip_identity_headers),
      NULL },

    { ngx_string("restauth_require"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
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

    { ngx_string("restauth_jobs"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_restauth_jobs,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_restauth_main_conf_t, jobs),
      NULL },

    { ngx_string("restauth_job_queue"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_restauth_main_conf_t, job_queue),
      NULL },

    { ngx_string("restauth_job_queue_timeout"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_msec_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_restauth_main_conf_t, job_queue_timeout),
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

    { ngx_string("restauth_mail_stream_maxlen"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_restauth_main_conf_t, mail_stream_maxlen),
      &ngx_http_restauth_mail_stream_maxlen_bounds },

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
      offsetof(ngx_http_restauth_loc_conf_t, jwt_claims),
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

    { ngx_string("restauth_max_sessions_per_user"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_restauth_loc_conf_t, max_sessions_per_user),
      &ngx_http_restauth_max_sessions_bounds },

    { ngx_string("restauth_csrf"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_FLAG,
      ngx_conf_set_flag_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_restauth_loc_conf_t, csrf),
      NULL },

    { ngx_string("restauth_csrf_secret"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_TAKE1,
      ngx_http_restauth_read_secret,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_restauth_loc_conf_t, csrf_secret),
      NULL },

    /* a space-separated list, as restauth_jwt_claims; the core parses it */
    { ngx_string("restauth_csrf_trusted_origins"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_CONF_1MORE,
      ngx_http_restauth_jwt_claims,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_restauth_loc_conf_t, csrf_trusted_origins),
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



static ngx_int_t
ngx_http_restauth_init(ngx_conf_t *cf)
{
    if (ngx_http_restauth_protect_init(cf) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_restauth_filter_init(cf);
}


static ngx_int_t
ngx_http_restauth_init_process(ngx_cycle_t *cycle)
{
    ngx_int_t                       workers;
    ngx_core_conf_t                *ccf;
    ngx_http_restauth_main_conf_t  *rmcf;

    rmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_restauth_module);

    if (rmcf == NULL || !rmcf->used) {
        return NGX_OK;
    }

    if (rmcf->jobs == 0) {
        /* restauth_jobs auto: the cores shared among the workers */
        ccf = (ngx_core_conf_t *) ngx_get_conf(cycle->conf_ctx,
                                               ngx_core_module);
        workers = ccf->worker_processes > 0 ? ccf->worker_processes : 1;

        rmcf->jobs = ngx_max(ngx_ncpu / workers, 1);
    }

    if (ngx_http_restauth_job_init_process(cycle) != NGX_OK) {
        return NGX_ERROR;
    }

    return ngx_http_restauth_redis_init_process(cycle);
}


static void
ngx_http_restauth_exit_process(ngx_cycle_t *cycle)
{
    ngx_http_restauth_redis_exit_process(cycle);
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


/*
 * A repeatable directive's list, merged the nginx way: a level that gives
 * the directive replaces the list above it, and a lone "off" empties it.
 * Returns NGX_CONF_OK with *elt set to a new element (NULL after "off"),
 * or an error string for the directive.
 */
static char *
ngx_http_restauth_list_push(ngx_conf_t *cf, ngx_array_t **list, size_t size,
    void **elt)
{
    ngx_str_t  *value;

    value = cf->args->elts;
    *elt = NULL;

    if (cf->args->nelts == 2) {
        if (ngx_strcmp(value[1].data, "off") != 0) {
            return "needs more parameters, or \"off\"";
        }

        if (*list != NGX_CONF_UNSET_PTR) {
            return "is duplicate";
        }

        *list = NULL;
        return NGX_CONF_OK;
    }

    if (*list == NULL) {
        return "cannot be combined with \"off\" on the same level";
    }

    if (*list == NGX_CONF_UNSET_PTR) {
        *list = ngx_array_create(cf->pool, 2, size);
        if (*list == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    *elt = ngx_array_push(*list);
    if (*elt == NULL) {
        return NGX_CONF_ERROR;
    }

    return NGX_CONF_OK;
}


static char *
ngx_http_restauth_claim_header(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_restauth_loc_conf_t *rlcf = conf;

    char                              *rv;
    u_char                            *p;
    ngx_str_t                         *value;
    ngx_uint_t                         i;
    ngx_str_t                         *known;
    ngx_http_header_t                 *hh;
    ngx_http_restauth_claim_header_t  *ch;
    ngx_http_restauth_main_conf_t     *rmcf;

    value = cf->args->elts;

    rv = ngx_http_restauth_list_push(cf, &rlcf->claim_headers,
                                     sizeof(ngx_http_restauth_claim_header_t),
                                     (void **) &ch);
    if (rv != NGX_CONF_OK || ch == NULL) {
        return rv;
    }

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

    /*
     * Every location strips every name declared anywhere, not only its own
     * list: locations often share a backend, and a header one location
     * vouches for (X-Auth-Is-Staff in /admin/) must not arrive forged
     * through another (/app/).
     */
    rmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_restauth_module);

    if (rmcf->identity_headers == NULL) {
        rmcf->identity_headers = ngx_array_create(cf->pool, 4,
                                                  sizeof(ngx_str_t));
        if (rmcf->identity_headers == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    known = rmcf->identity_headers->elts;

    for (i = 0; i < rmcf->identity_headers->nelts; i++) {
        if (known[i].len == ch->match.len
            && ngx_strncmp(known[i].data, ch->match.data, ch->match.len) == 0)
        {
            return NGX_CONF_OK;
        }
    }

    known = ngx_array_push(rmcf->identity_headers);
    if (known == NULL) {
        return NGX_CONF_ERROR;
    }

    *known = ch->match;

    return NGX_CONF_OK;
}


static char *
ngx_http_restauth_require(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_restauth_loc_conf_t *rlcf = conf;

    char                         *rv;
    ngx_str_t                    *value, *v;
    ngx_uint_t                    i;
    ngx_http_restauth_require_t  *req;

    value = cf->args->elts;

    rv = ngx_http_restauth_list_push(cf, &rlcf->requires,
                                     sizeof(ngx_http_restauth_require_t),
                                     (void **) &req);
    if (rv != NGX_CONF_OK || req == NULL) {
        return rv;
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
     *     rmcf->thread_pool_name = { 0, NULL };
     *     and every STR setting of RESTAUTH_MAIN_SETTINGS
     */

    rmcf->redis_db = NGX_CONF_UNSET;
    rmcf->redis_timeout = NGX_CONF_UNSET_MSEC;
    rmcf->jobs = NGX_CONF_UNSET_UINT;
    rmcf->job_queue = NGX_CONF_UNSET_UINT;
    rmcf->job_queue_timeout = NGX_CONF_UNSET_MSEC;

#define NGX_HTTP_RESTAUTH_UNSET(type, name, def)                              \
    NGX_HTTP_RESTAUTH_UNSET_##type(rmcf->name);
    RESTAUTH_MAIN_SETTINGS(NGX_HTTP_RESTAUTH_UNSET)
#undef NGX_HTTP_RESTAUTH_UNSET

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

    ngx_conf_init_value(rmcf->redis_db, RESTAUTH_DEFAULT_REDIS_DB);
    ngx_conf_init_msec_value(rmcf->redis_timeout, 1000);

    if (rmcf->thread_pool_name.data == NULL) {
        ngx_str_set(&rmcf->thread_pool_name, "default");
    }

    /* 0 is "auto": one share of the cores per worker, resolved in
     * ngx_http_restauth_init_process(), when worker_processes is known */
    ngx_conf_init_uint_value(rmcf->jobs, 0);
    ngx_conf_init_uint_value(rmcf->job_queue, 64);
    ngx_conf_init_msec_value(rmcf->job_queue_timeout, 30000);

#define NGX_HTTP_RESTAUTH_INIT(type, name, def)                               \
    NGX_HTTP_RESTAUTH_MERGE_##type(rmcf->name, rmcf->name, def);
    RESTAUTH_MAIN_SETTINGS(NGX_HTTP_RESTAUTH_INIT)
#undef NGX_HTTP_RESTAUTH_INIT

    if (rmcf->redis_db < 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "restauth_redis_db must not be negative");
        return NGX_CONF_ERROR;
    }

    if (rmcf->job_queue_timeout == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "restauth_job_queue_timeout must be positive");
        return NGX_CONF_ERROR;
    }

    if (rmcf->password_iterations < 1000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "restauth_password_iterations must be at least "
                           "1000");
        return NGX_CONF_ERROR;
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
     *     rlcf->login_url = { 0, NULL };
     *     and every STR setting of RESTAUTH_LOC_SETTINGS
     */

    rlcf->api = NGX_CONF_UNSET;
    rlcf->protect = NGX_CONF_UNSET_UINT;
    rlcf->check_session = NGX_CONF_UNSET;
    rlcf->strip_identity_headers = NGX_CONF_UNSET;
    rlcf->max_body_size = NGX_CONF_UNSET_SIZE;
    rlcf->claim_headers = NGX_CONF_UNSET_PTR;
    rlcf->requires = NGX_CONF_UNSET_PTR;

#define NGX_HTTP_RESTAUTH_UNSET(type, name, def)                              \
    NGX_HTTP_RESTAUTH_UNSET_##type(rlcf->name);
    RESTAUTH_LOC_SETTINGS(NGX_HTTP_RESTAUTH_UNSET)
#undef NGX_HTTP_RESTAUTH_UNSET

    for (i = 0; i < RESTAUTH_LIMIT_COUNT; i++) {
        rlcf->limit_count[i] = NGX_CONF_UNSET_UINT;
        rlcf->limit_window[i] = NGX_CONF_UNSET;
    }

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
    ngx_http_core_loc_conf_t       *clcf;
    ngx_http_restauth_main_conf_t  *rmcf;

    ngx_conf_merge_value(conf->api, prev->api, 0);
    ngx_conf_merge_uint_value(conf->protect, prev->protect,
                              NGX_HTTP_RESTAUTH_PROTECT_OFF);
    ngx_conf_merge_value(conf->check_session, prev->check_session, 0);
    ngx_conf_merge_value(conf->strip_identity_headers,
                         prev->strip_identity_headers, 1);
    ngx_conf_merge_size_value(conf->max_body_size, prev->max_body_size,
                              16384);
    ngx_conf_merge_ptr_value(conf->claim_headers, prev->claim_headers, NULL);
    ngx_conf_merge_ptr_value(conf->requires, prev->requires, NULL);
    ngx_conf_merge_str_value(conf->login_url, prev->login_url, "");

    if (conf->keys == NULL) {
        conf->keys = prev->keys;
    }

#define NGX_HTTP_RESTAUTH_MERGE(type, name, def)                              \
    NGX_HTTP_RESTAUTH_MERGE_##type(conf->name, prev->name, def);
    RESTAUTH_LOC_SETTINGS(NGX_HTTP_RESTAUTH_MERGE)
#undef NGX_HTTP_RESTAUTH_MERGE

    for (i = 0; i < RESTAUTH_LIMIT_COUNT; i++) {
        ngx_conf_merge_uint_value(conf->limit_count[i], prev->limit_count[i],
                                  ngx_http_restauth_limit_defaults[i].count);
        ngx_conf_merge_sec_value(conf->limit_window[i], prev->limit_window[i],
                                 ngx_http_restauth_limit_defaults[i].window);
    }

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

    if (conf->api) {
        /*
         * The API reads request bodies in memory only: reading a body that
         * nginx spooled to a temp file would block the worker.  nginx spools
         * what does not fit client_body_buffer_size (8k or 16k by default,
         * below the default restauth_max_body_size), so in the module's own
         * locations the buffer is raised to restauth_max_body_size, as a
         * content handler that needs the whole body in memory must.  The
         * core module's merge of this location has already run (modules
         * merge in module order, core first), so its value is final here.
         * Only a body's actual size is allocated when it has a
         * Content-Length; chunked bodies get the whole buffer.
         */
        clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

        if (clcf->client_body_buffer_size < conf->max_body_size) {
            clcf->client_body_buffer_size = conf->max_body_size;
        }
    }

    rmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_restauth_module);

    if (conf->protect != NGX_HTTP_RESTAUTH_PROTECT_OFF
        || conf->claim_headers != NULL)
    {
        rmcf->identity = 1;
    }

    if (!conf->api && conf->protect == NGX_HTTP_RESTAUTH_PROTECT_OFF) {
        return NGX_CONF_OK;
    }

    if (conf->protect != NGX_HTTP_RESTAUTH_PROTECT_OFF && !conf->api
        && conf->token_mode == RESTAUTH_TOKENS_OPAQUE)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "restauth_protect verifies JWTs and cannot be "
                           "used with \"restauth_token_mode opaque\"");
        return NGX_CONF_ERROR;
    }

    if ((conf->keys == NULL || restauth_keyset_size(conf->keys) == 0)
        && conf->token_mode == RESTAUTH_TOKENS_JWT)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "restauth_api and restauth_protect need at least "
                           "one \"restauth_jwt_key\"");
        return NGX_CONF_ERROR;
    }

    if (conf->api || conf->check_session) {
        rmcf->used = 1;
    }

    ngx_memzero(&s, sizeof(restauth_settings_t));

#define NGX_HTTP_RESTAUTH_MAIN_TO_CORE(type, name, def)                       \
    NGX_HTTP_RESTAUTH_TO_CORE_##type(s.name, rmcf->name);
#define NGX_HTTP_RESTAUTH_LOC_TO_CORE(type, name, def)                        \
    NGX_HTTP_RESTAUTH_TO_CORE_##type(s.name, conf->name);
    RESTAUTH_MAIN_SETTINGS(NGX_HTTP_RESTAUTH_MAIN_TO_CORE)
    RESTAUTH_LOC_SETTINGS(NGX_HTTP_RESTAUTH_LOC_TO_CORE)
#undef NGX_HTTP_RESTAUTH_MAIN_TO_CORE
#undef NGX_HTTP_RESTAUTH_LOC_TO_CORE

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
        ngx_str_set(&text, RESTAUTH_DEFAULT_REDIS);
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


/* restauth_jobs auto | <n> */
static char *
ngx_http_restauth_jobs(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_restauth_main_conf_t *rmcf = conf;

    ngx_int_t   n;
    ngx_str_t  *value;

    if (rmcf->jobs != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "auto") == 0) {
        rmcf->jobs = 0;
        return NGX_CONF_OK;
    }

    n = ngx_atoi(value[1].data, value[1].len);
    if (n == NGX_ERROR || n == 0) {
        return "must be \"auto\" or a positive number";
    }

    rmcf->jobs = (ngx_uint_t) n;

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
