
/*
 * ngx_http_restauth: restauth_protect, verification at the edge.
 *
 * The phase handlers share one verdict per client request:
 *   rewrite     does everything for subrequests (auth_request), where
 *               nginx skips the access phase; it runs before the rewrite
 *               module's handler, so "return 204" in the auth location
 *               answers only for a token that passed;
 *   preaccess   verifies the token (once) and strips and fills the
 *               identity headers for the location at hand (again after an
 *               internal redirect), before limit_req runs;
 *   access      decides for main requests, returning a status code to the
 *               phase engine as auth_basic does, so satisfy, error_page and
 *               auth_delay apply;
 *   precontent  gives the main request the identity headers a subrequest
 *               verified, when its own location does not protect itself.
 */


#include "ngx_http_restauth_common.h"


/* restauth_check_session: one EXISTS in flight for a protected request;
 * heap memory, detached (request = NULL) if the request goes first. */
struct ngx_http_restauth_session_check_s {
    ngx_http_request_t                 *request;
    ngx_http_restauth_protect_ctx_t    *pctx;
    ngx_event_t                         timer;
};


/* a subrequest's module context: present once it owns its headers */
typedef struct {
    ngx_uint_t                          unused;
} ngx_http_restauth_protect_req_t;


static ngx_int_t ngx_http_restauth_rewrite_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_restauth_preaccess_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_restauth_access_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_restauth_precontent_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_restauth_decide(ngx_http_request_t *r,
    ngx_http_restauth_loc_conf_t *rlcf, ngx_http_restauth_protect_ctx_t *pctx);
static ngx_int_t ngx_http_restauth_deny(ngx_http_request_t *r,
    ngx_http_restauth_loc_conf_t *rlcf, ngx_http_restauth_protect_ctx_t *pctx,
    ngx_uint_t status, restauth_token_status_t token_status);
static ngx_uint_t ngx_http_restauth_requirements_met(
    ngx_http_restauth_loc_conf_t *rlcf, ngx_http_restauth_protect_ctx_t *pctx);
static ngx_int_t ngx_http_restauth_check_session(ngx_http_request_t *r,
    ngx_http_restauth_loc_conf_t *rlcf, ngx_http_restauth_protect_ctx_t *pctx);
static void ngx_http_restauth_session_late(ngx_event_t *ev);
static void ngx_http_restauth_session_reply(redisAsyncContext *ac,
    void *reply, void *privdata);




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


ngx_http_restauth_protect_ctx_t *
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


void
ngx_http_restauth_protect_verify(ngx_http_request_t *r,
    ngx_http_restauth_loc_conf_t *rlcf, ngx_http_restauth_protect_ctx_t *pctx)
{
    char                    reason[512];
    size_t                  len;
    u_char                 *p;
    restauth_credentials_t  cred;

    static ngx_str_t  csrf_header = ngx_string("X-CSRFToken");

    if (pctx->verified) {
        return;
    }

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "restauth protect verify");

    pctx->verified = 1;
    pctx->status = RESTAUTH_TOKEN_INVALID;

    ngx_memzero(&cred, sizeof(restauth_credentials_t));

    ngx_http_restauth_str(&cred.method, &r->method_name);
    ngx_http_restauth_str(&cred.authorization,
                          r->headers_in.authorization
                          ? &r->headers_in.authorization->value : NULL);
    ngx_http_restauth_str(&cred.csrf_header,
                          ngx_http_restauth_find_header(r, &csrf_header));
    ngx_http_restauth_csrf_context(r, &cred.host, &cred.origin, &cred.referer,
                                   &cred.secure);
    cred.now = ngx_time();
    reason[0] = '\0';
    cred.reason = reason;
    cred.reason_size = sizeof(reason);

    if (ngx_http_restauth_cookies(r, &cred.cookie) != NGX_OK) {
        return;
    }

    pctx->status = restauth_protect_verify(rlcf->core, &cred,
                                           &pctx->identity);

    if (pctx->status != RESTAUTH_TOKEN_OK
        && pctx->status != RESTAUTH_TOKEN_MISSING)
    {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "restauth: rejected access token (%s%s%s)",
                      restauth_token_status_name(pctx->status).data,
                      reason[0] ? ": " : "", reason);
    }

    if (pctx->status == RESTAUTH_TOKEN_CSRF_FAILED) {
        /* {"detail": "CSRF Failed: <Django's reason>"}; without memory the
         * generic body of restauth_token_error_body() stays */
        len = restauth_csrf_error_body(reason, NULL, 0);
        p = len ? ngx_pnalloc(r->pool, len + 1) : NULL;

        if (p != NULL) {
            restauth_csrf_error_body(reason, (char *) p, len + 1);
            pctx->csrf_body.data = (const char *) p;
            pctx->csrf_body.len = len;
        }
    }
}


/* The verified verdict for a location restauth_protect guards; NULL with
 * *rc = NGX_DECLINED where it does not, or an error status. */
static ngx_http_restauth_protect_ctx_t *
ngx_http_restauth_protected(ngx_http_request_t *r,
    ngx_http_restauth_loc_conf_t **rlcfp, ngx_int_t *rc)
{
    ngx_http_restauth_loc_conf_t     *rlcf;
    ngx_http_restauth_protect_ctx_t  *pctx;

    rlcf = ngx_http_get_module_loc_conf(r, ngx_http_restauth_module);
    *rlcfp = rlcf;
    *rc = NGX_DECLINED;

    if (rlcf->protect == NGX_HTTP_RESTAUTH_PROTECT_OFF || rlcf->api) {
        return NULL;
    }

    pctx = ngx_http_restauth_protect_ctx(r, 1);
    if (pctx == NULL) {
        *rc = NGX_HTTP_INTERNAL_SERVER_ERROR;
        return NULL;
    }

    ngx_http_restauth_protect_verify(r, rlcf, pctx);

    return pctx;
}


static ngx_int_t
ngx_http_restauth_rewrite_handler(ngx_http_request_t *r)
{
    ngx_int_t                         rc;
    ngx_http_restauth_loc_conf_t     *rlcf;
    ngx_http_restauth_protect_ctx_t  *pctx;
    ngx_http_restauth_protect_req_t  *preq;

    if (r == r->main) {
        return NGX_DECLINED;
    }

    pctx = ngx_http_restauth_protected(r, &rlcf, &rc);
    if (pctx == NULL) {
        return rc;
    }

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "restauth rewrite handler, subrequest");

    preq = ngx_http_get_module_ctx(r, ngx_http_restauth_module);

    if (preq == NULL) {
        preq = ngx_pcalloc(r->pool, sizeof(ngx_http_restauth_protect_req_t));
        if (preq == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_http_set_ctx(r, preq, ngx_http_restauth_module);

        if (ngx_http_restauth_headers_own(r) != NGX_OK
            || ngx_http_restauth_headers_apply(r, rlcf, pctx)
               != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    pctx->subrequest_conf = rlcf;

    rc = ngx_http_restauth_decide(r, rlcf, pctx);

    switch (rc) {
    case NGX_OK:
    case NGX_DECLINED:
        return NGX_DECLINED;

    case NGX_AGAIN:
        /* the session check's reply runs the phases again */
        return NGX_DONE;

    default:
        return rc;
    }
}


static ngx_int_t
ngx_http_restauth_preaccess_handler(ngx_http_request_t *r)
{
    ngx_int_t                         rc;
    ngx_http_restauth_loc_conf_t     *rlcf;
    ngx_http_restauth_main_conf_t    *rmcf;
    ngx_http_restauth_protect_ctx_t  *pctx;

    if (r != r->main) {
        return NGX_DECLINED;
    }

    rlcf = ngx_http_get_module_loc_conf(r, ngx_http_restauth_module);

    if (rlcf->protect == NGX_HTTP_RESTAUTH_PROTECT_OFF && !rlcf->api) {
        rmcf = ngx_http_get_module_main_conf(r, ngx_http_restauth_module);

        if (!rmcf->identity || !rlcf->strip_identity_headers) {
            return NGX_DECLINED;
        }

        pctx = ngx_http_restauth_protect_ctx(r, 0);

        if (pctx != NULL && pctx->headers_conf != NULL) {
            /*
             * An internal redirect from a location that verified (try_files
             * ... @backend): the client's copies are gone already and what
             * is left is what that location vouched for.
             */
            return NGX_DECLINED;
        }

        /*
         * Nothing verifies a token here (or only a subrequest will: the
         * main location of an auth_request pattern), yet the backend may
         * be the one a protected location feeds.  Whatever fills these
         * headers, a client never may.
         */
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "restauth preaccess handler, strip only");

        return ngx_http_restauth_headers_apply(r, rlcf, NULL) == NGX_OK
               ? NGX_DECLINED : NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    pctx = ngx_http_restauth_protected(r, &rlcf, &rc);
    if (pctx == NULL) {
        return rc;
    }

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "restauth preaccess handler");

    /* again after an internal redirect to a location with another list */
    if (pctx->headers_conf == rlcf) {
        return NGX_DECLINED;
    }

    pctx->headers_conf = rlcf;

    if (ngx_http_restauth_headers_apply(r, rlcf, pctx)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_restauth_access_handler(ngx_http_request_t *r)
{
    ngx_http_restauth_loc_conf_t     *rlcf;
    ngx_http_restauth_protect_ctx_t  *pctx;

    rlcf = ngx_http_get_module_loc_conf(r, ngx_http_restauth_module);

    if (rlcf->protect == NGX_HTTP_RESTAUTH_PROTECT_OFF || rlcf->api) {
        return NGX_DECLINED;
    }

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "restauth access handler");

    pctx = ngx_http_restauth_protect_ctx(r, 0);

    if (pctx == NULL || !pctx->verified) {
        /* the preaccess handler did not run: an internal error */
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return ngx_http_restauth_decide(r, rlcf, pctx);
}


/*
 * After auth_request: a subrequest verified the token, and this location
 * does not protect itself.  Its upstream gets the subrequest location's
 * identity headers, forged ones stripped.
 */
static ngx_int_t
ngx_http_restauth_precontent_handler(ngx_http_request_t *r)
{
    ngx_http_restauth_loc_conf_t     *rlcf;
    ngx_http_restauth_protect_ctx_t  *pctx;

    if (r != r->main) {
        return NGX_DECLINED;
    }

    rlcf = ngx_http_get_module_loc_conf(r, ngx_http_restauth_module);

    if (rlcf->api || rlcf->protect != NGX_HTTP_RESTAUTH_PROTECT_OFF) {
        return NGX_DECLINED;
    }

    pctx = ngx_http_restauth_protect_ctx(r, 0);

    if (pctx == NULL || pctx->subrequest_conf == NULL
        || pctx->headers_conf == pctx->subrequest_conf)
    {
        return NGX_DECLINED;
    }

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "restauth precontent handler, after a subrequest");

    pctx->headers_conf = pctx->subrequest_conf;

    if (ngx_http_restauth_headers_apply(r, pctx->subrequest_conf, pctx)
        != NGX_OK)
    {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    return NGX_DECLINED;
}


/* The access decision for the location, once the token is verified. */
static ngx_int_t
ngx_http_restauth_decide(ngx_http_request_t *r,
    ngx_http_restauth_loc_conf_t *rlcf, ngx_http_restauth_protect_ctx_t *pctx)
{
    ngx_int_t  rc;

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
            return ngx_http_restauth_deny(r, rlcf, pctx,
                                          NGX_HTTP_SERVICE_UNAVAILABLE,
                                          pctx->status);
        }

        if (!pctx->session_alive) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "restauth: the token's session was revoked");
            return ngx_http_restauth_deny(r, rlcf, pctx,
                                          NGX_HTTP_UNAUTHORIZED,
                                          RESTAUTH_TOKEN_INVALID);
        }
    }

    if (pctx->status == RESTAUTH_TOKEN_OK) {
        if (!ngx_http_restauth_requirements_met(rlcf, pctx)) {
            ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                          "restauth: token does not meet restauth_require");
            return ngx_http_restauth_deny(r, rlcf, pctx, NGX_HTTP_FORBIDDEN,
                                          pctx->status);
        }

        return NGX_OK;
    }

    if (pctx->status == RESTAUTH_TOKEN_MISSING
        && rlcf->protect == NGX_HTTP_RESTAUTH_PROTECT_OPTIONAL)
    {
        return NGX_DECLINED;
    }

    if (pctx->status == RESTAUTH_TOKEN_CSRF_FAILED) {
        return ngx_http_restauth_deny(r, rlcf, pctx, NGX_HTTP_FORBIDDEN,
                                      pctx->status);
    }

    return ngx_http_restauth_deny(r, rlcf, pctx, NGX_HTTP_UNAUTHORIZED,
                                  pctx->status);
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


/*
 * A refusal as a status code for the phase engine.  The JSON body of the
 * contract is put in by the body filter, unless an error_page answers.
 */
static ngx_int_t
ngx_http_restauth_deny(ngx_http_request_t *r,
    ngx_http_restauth_loc_conf_t *rlcf, ngx_http_restauth_protect_ctx_t *pctx,
    ngx_uint_t status, restauth_token_status_t token_status)
{
    size_t            len;
    u_char           *p;
    uintptr_t         escape;
    ngx_str_t        *accept;
    restauth_str_t    challenge;
    ngx_table_elt_t  *h;

    static ngx_str_t  accept_name = ngx_string("Accept");

    pctx->deny_status = status;
    pctx->deny_conf = rlcf;
    pctx->deny_in_subrequest = (r != r->main);

    if (status == NGX_HTTP_SERVICE_UNAVAILABLE) {
        pctx->deny_body = restauth_error_body((int) status);
        return status;
    }

    if (status == NGX_HTTP_FORBIDDEN) {
        if (token_status == RESTAUTH_TOKEN_CSRF_FAILED) {
            pctx->deny_body = pctx->csrf_body.len
                              ? pctx->csrf_body
                              : restauth_token_error_body(token_status);

        } else {
            pctx->deny_body = restauth_error_body((int) status);
        }

        return status;
    }

    pctx->deny_body = restauth_token_error_body(token_status);

    accept = ngx_http_restauth_find_header(r, &accept_name);

    /* Browsers navigating to a page go to the login page instead; not in
     * a subrequest, whose redirect auth_request would not pass on. */
    if (rlcf->login_url.len && r == r->main && accept
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
        pctx->deny_status = NGX_HTTP_MOVED_TEMPORARILY;

        return NGX_HTTP_MOVED_TEMPORARILY;
    }

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    challenge = restauth_token_challenge(token_status);

    h->hash = 1;
    ngx_str_set(&h->key, "WWW-Authenticate");
    h->value.data = (u_char *) challenge.data;
    h->value.len = challenge.len;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif

    /* satisfy any hides it (hash = 0) when another module grants access;
     * auth_request copies it from its subrequest */
    r->headers_out.www_authenticate = h;

    return NGX_HTTP_UNAUTHORIZED;
}


/* Starts the EXISTS for restauth_check_session.  NGX_AGAIN: the phases
 * resume from the reply callback. */
static ngx_int_t
ngx_http_restauth_check_session(ngx_http_request_t *r,
    ngx_http_restauth_loc_conf_t *rlcf, ngx_http_restauth_protect_ctx_t *pctx)
{
    const char                         *argv[2];
    size_t                              argvlen[2];
    restauth_str_t                      key;
    ngx_http_restauth_session_check_t  *check;

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "restauth check session");

    if (!restauth_identity_session_key(rlcf->core, pctx->identity, &key)) {
        pctx->session_checked = 1;      /* no session: treat as revoked */
        return NGX_OK;
    }

    check = ngx_calloc(sizeof(ngx_http_restauth_session_check_t),
                       r->connection->log);
    if (check == NULL) {
        return NGX_ERROR;
    }

    check->request = r;
    check->pctx = pctx;
    check->timer.data = check;

    argv[0] = "EXISTS";
    argvlen[0] = sizeof("EXISTS") - 1;
    argv[1] = key.data;
    argvlen[1] = key.len;

    if (ngx_http_restauth_redis_submit(2, argv, argvlen,
                                       ngx_http_restauth_session_reply, check)
        != NGX_OK)
    {
        ngx_free(check);
        pctx->session_checked = 1;
        pctx->session_unknown = 1;
        return NGX_OK;
    }

    pctx->check = check;

    ngx_http_restauth_redis_add_timer(&check->timer,
                                      ngx_http_restauth_session_late,
                                      r->connection->log);

    return NGX_AGAIN;
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

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "restauth session reply, request gone:%d", r == NULL);

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

    /* The request waits in the access phase (main request) or the
     * precontent phase (subrequest); its write handler runs the phases. */
    if (ngx_http_post_request(r, NULL) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }

    ngx_http_run_posted_requests(c);
}


/* The EXISTS is late: fail closed (503) for this request alone; the reply
 * callback frees the detached check when the late reply comes. */
static void
ngx_http_restauth_session_late(ngx_event_t *ev)
{
    ngx_connection_t                   *c;
    ngx_http_request_t                 *r;
    ngx_http_restauth_protect_ctx_t    *pctx;
    ngx_http_restauth_session_check_t  *check = ev->data;

    r = check->request;
    pctx = check->pctx;

    ngx_log_error(NGX_LOG_ERR, ev->log, 0,
                  "restauth: redis did not answer within "
                  "restauth_redis_timeout (session check)");

    check->request = NULL;
    pctx->check = NULL;
    pctx->session_checked = 1;
    pctx->session_unknown = 1;

    ngx_http_restauth_redis_timed_out();

    c = r->connection;

    if (ngx_http_post_request(r, NULL) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }

    ngx_http_run_posted_requests(c);
}


ngx_int_t
ngx_http_restauth_protect_init(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    ngx_http_restauth_headers_init();

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    /* pushed after the rewrite module's handler, so it runs before it */
    h = ngx_array_push(&cmcf->phases[NGX_HTTP_REWRITE_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_restauth_rewrite_handler;

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PREACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_restauth_preaccess_handler;

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_restauth_access_handler;

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_PRECONTENT_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_restauth_precontent_handler;

    return NGX_OK;
}
