
/*
 * ngx_http_restauth: what the nginx glue files share.
 *
 *   ngx_http_restauth_module.c     module, directives, conf create/merge
 *   src/ngx_http_restauth_api.c    the restauth_api content handler
 *   src/ngx_http_restauth_job.c    CPU jobs on nginx's thread pool
 *   src/ngx_http_restauth_protect.c  restauth_protect's phase handlers:
 *                                  verification and the access decision
 *   src/ngx_http_restauth_headers.c  identity headers handed upstream
 *   src/ngx_http_restauth_variables.c  $restauth_* variables
 *   src/ngx_http_restauth_filter.c JSON bodies for restauth_protect's
 *                                  refusals, unless error_page takes over
 *   src/ngx_http_restauth_redis.c  the worker's Redis connection
 *   src/ngx_http_restauth_util.c   request reading and JSON responses
 *
 * Everything about authentication lives in the C++ core (src/core/),
 * reached only through src/core/restauth.h.
 */


#ifndef _NGX_HTTP_RESTAUTH_COMMON_H_INCLUDED_
#define _NGX_HTTP_RESTAUTH_COMMON_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <ngx_thread_pool.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "restauth.h"


#define NGX_HTTP_RESTAUTH_PROTECT_OFF       0
#define NGX_HTTP_RESTAUTH_PROTECT_ON        1
#define NGX_HTTP_RESTAUTH_PROTECT_OPTIONAL  2


/* nginx conf types of restauth.h's setting types */
typedef ngx_str_t   ngx_http_restauth_setting_STR;
typedef time_t      ngx_http_restauth_setting_SEC;
typedef ngx_uint_t  ngx_http_restauth_setting_UINT;
typedef ngx_flag_t  ngx_http_restauth_setting_FLAG;
typedef ngx_uint_t  ngx_http_restauth_setting_VERIFY;
typedef ngx_uint_t  ngx_http_restauth_setting_TOKENS;

#define NGX_HTTP_RESTAUTH_SETTING_FIELD(type, name, def)                      \
    ngx_http_restauth_setting_##type  name;


typedef struct {
    ngx_str_t                  redis_addr;      /* "host:port" or "unix:/p" */
    ngx_str_t                  redis_host;      /* resolved, NUL-terminated */
    ngx_int_t                  redis_port;
    ngx_flag_t                 redis_unix;
    ngx_str_t                  redis_password;
    ngx_int_t                  redis_db;
    ngx_msec_t                 redis_timeout;
    ngx_str_t                  thread_pool_name;
    ngx_thread_pool_t         *thread_pool;
    ngx_uint_t                 jobs;            /* per worker; 0: auto */
    ngx_uint_t                 job_queue;       /* per worker */
    ngx_msec_t                 job_queue_timeout;
    ngx_flag_t                 used;            /* some location needs it */
    ngx_flag_t                 identity;        /* some level protects or
                                                   lists claim headers */
    ngx_array_t               *identity_headers; /* of ngx_str_t: the match
                                                   form of every name any
                                                   restauth_claim_header
                                                   declares, anywhere */

    RESTAUTH_MAIN_SETTINGS(NGX_HTTP_RESTAUTH_SETTING_FIELD)
} ngx_http_restauth_main_conf_t;


typedef struct {
    ngx_flag_t                 api;
    ngx_uint_t                 protect;
    ngx_flag_t                 check_session;
    ngx_flag_t                 strip_identity_headers;
    size_t                     max_body_size;
    ngx_array_t               *claim_headers;   /* of ..._claim_header_t */
    ngx_array_t               *requires;        /* of ..._require_t */
    ngx_str_t                  login_url;

    restauth_keyset_t         *keys;

    RESTAUTH_LOC_SETTINGS(NGX_HTTP_RESTAUTH_SETTING_FIELD)
    ngx_uint_t                 limit_count[RESTAUTH_LIMIT_COUNT];
    time_t                     limit_window[RESTAUTH_LIMIT_COUNT];

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


typedef struct ngx_http_restauth_ctx_s  ngx_http_restauth_ctx_t;

/* A command in flight; heap memory, because Redis may answer after the
 * request is gone.  ctx == NULL means the request left: drop the reply. */
typedef struct {
    ngx_http_restauth_ctx_t   *ctx;
    ngx_uint_t                 index;
} ngx_http_restauth_redis_op_t;


/* A CPU job, waiting or on the thread pool; heap memory for the same
 * reason (src/ngx_http_restauth_job.c). */
typedef struct ngx_http_restauth_job_s  ngx_http_restauth_job_t;


/* One restauth_api request while the core works on it. */
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


typedef struct ngx_http_restauth_session_check_s
    ngx_http_restauth_session_check_t;

/*
 * restauth_protect's verdict on a request's token.  It hangs on the pool's
 * cleanup list, not in the module context: internal redirects clear module
 * contexts, and subrequests share the pool, so the token is verified once
 * per client request whichever location, subrequest or variable asks
 * first.
 */
typedef struct {
    restauth_identity_t                *identity;
    restauth_token_status_t             status;
    ngx_http_restauth_session_check_t  *check;        /* in flight */

    /* the location whose header list the main request's headers were
     * last stripped and filled for */
    ngx_http_restauth_loc_conf_t       *headers_conf;
    /* a subrequest (auth_request) protected with this location's
     * configuration: the main request gets its headers too */
    ngx_http_restauth_loc_conf_t       *subrequest_conf;

    /* the refusal, for the JSON body filter */
    ngx_uint_t                          deny_status;
    ngx_http_restauth_loc_conf_t       *deny_conf;
    restauth_str_t                      deny_body;
    restauth_str_t                      csrf_body;     /* with CSRF_FAILED */
    ngx_http_request_t                 *json_request;  /* body replaced */

    unsigned                            verified:1;
    unsigned                            session_checked:1;
    unsigned                            session_alive:1;
    unsigned                            session_unknown:1; /* Redis failed */
    unsigned                            deny_in_subrequest:1;
    unsigned                            json_sent:1;
} ngx_http_restauth_protect_ctx_t;


extern ngx_module_t  ngx_http_restauth_module;


/* src/ngx_http_restauth_api.c */
ngx_int_t ngx_http_restauth_api_handler(ngx_http_request_t *r);
void ngx_http_restauth_api_resume(ngx_http_restauth_ctx_t *ctx);

/*
 * src/ngx_http_restauth_job.c: the worker's job scheduler.  post: NGX_OK,
 * the request is resumed (ngx_http_restauth_api_resume) when the job has
 * ended or was refused; otherwise the job was refused at once and the call
 * told so, and the caller steps the call on to its 503.  cancel: the
 * request left; the job layer frees the call.
 */
ngx_int_t ngx_http_restauth_job_init_process(ngx_cycle_t *cycle);
ngx_int_t ngx_http_restauth_job_post(ngx_http_restauth_ctx_t *ctx);
void ngx_http_restauth_job_cancel(ngx_http_restauth_job_t *job);

/* src/ngx_http_restauth_protect.c */
ngx_int_t ngx_http_restauth_protect_init(ngx_conf_t *cf);
/* The request's verdict, created on first use (NULL: out of memory, or
 * create == 0 and none yet). */
ngx_http_restauth_protect_ctx_t *ngx_http_restauth_protect_ctx(
    ngx_http_request_t *r, ngx_uint_t create);
/* Verifies the request's token once, with the location's keys. */
void ngx_http_restauth_protect_verify(ngx_http_request_t *r,
    ngx_http_restauth_loc_conf_t *rlcf, ngx_http_restauth_protect_ctx_t *pctx);

/* src/ngx_http_restauth_headers.c */
void ngx_http_restauth_headers_init(void);
ngx_int_t ngx_http_restauth_headers_apply(ngx_http_request_t *r,
    ngx_http_restauth_loc_conf_t *rlcf, ngx_http_restauth_protect_ctx_t *pctx);
ngx_int_t ngx_http_restauth_headers_own(ngx_http_request_t *r);

/* src/ngx_http_restauth_variables.c */
ngx_int_t ngx_http_restauth_add_variables(ngx_conf_t *cf);

/* src/ngx_http_restauth_filter.c */
ngx_int_t ngx_http_restauth_filter_init(ngx_conf_t *cf);

/*
 * src/ngx_http_restauth_redis.c: the worker's one Redis connection.  It
 * connects on demand (AUTH and SELECT first), and a reset answers every
 * pending command with a NULL reply.  A late reply fails only its own
 * request (see ngx_http_restauth_redis_add_timer).
 */
ngx_int_t ngx_http_restauth_redis_init_process(ngx_cycle_t *cycle);
void ngx_http_restauth_redis_exit_process(ngx_cycle_t *cycle);
/* NGX_OK: queued, fn will run exactly once (reply NULL on failure);
 * NGX_ERROR: Redis is unavailable and fn will not run. */
ngx_int_t ngx_http_restauth_redis_submit(int argc, const char **argv,
    const size_t *argvlen, redisCallbackFn *fn, void *privdata);
/* Arms a request's timer for restauth_redis_timeout.  The handler detaches
 * the request's callbacks (their late replies are dropped), answers it 503,
 * and calls ngx_http_restauth_redis_timed_out(), which retires a connection
 * that stalls (new commands then go to a new one) without failing the other
 * requests waiting on it. */
void ngx_http_restauth_redis_add_timer(ngx_event_t *timer,
    ngx_event_handler_pt handler, ngx_log_t *log);
void ngx_http_restauth_redis_timed_out(void);
void ngx_http_restauth_redis_reset(void);

/* src/ngx_http_restauth_util.c */
ngx_str_t *ngx_http_restauth_find_header(ngx_http_request_t *r,
    ngx_str_t *name);
ngx_int_t ngx_http_restauth_join_headers(ngx_http_request_t *r,
    ngx_str_t *name, restauth_str_t *out, ngx_uint_t *count);
void ngx_http_restauth_str(restauth_str_t *dst, ngx_str_t *src);
/* What the CSRF origin check reads: Host, Origin, Referer, and TLS. */
void ngx_http_restauth_csrf_context(ngx_http_request_t *r,
    restauth_str_t *host, restauth_str_t *origin, restauth_str_t *referer,
    int *secure);
ngx_int_t ngx_http_restauth_cookies(ngx_http_request_t *r,
    restauth_str_t *out);
ngx_int_t ngx_http_restauth_send_json(ngx_http_request_t *r,
    ngx_uint_t status, restauth_str_t body);
ngx_int_t ngx_http_restauth_send_error(ngx_http_request_t *r,
    ngx_uint_t status);


#endif /* _NGX_HTTP_RESTAUTH_COMMON_H_INCLUDED_ */
