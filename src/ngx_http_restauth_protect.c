
/*
 * ngx_http_restauth: restauth_protect, verification at the edge.
 *
 * An access-phase handler verifies the caller's access token locally,
 * removes every client header the module could set, hands the verified
 * claims to the upstream as headers, and exposes them as variables.  With
 * restauth_check_session it also asks Redis whether the token's session
 * still exists.
 */


#include "ngx_http_restauth_common.h"


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


static ngx_int_t ngx_http_restauth_access_handler(ngx_http_request_t *r);


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

    ngx_http_core_run_phases(r);
    ngx_http_run_posted_requests(c);
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

    ngx_http_restauth_redis_add_timer(&check->timer, r->connection->log);

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

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "restauth access handler");

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



ngx_int_t
ngx_http_restauth_protect_add_variables(ngx_conf_t *cf)
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


ngx_int_t
ngx_http_restauth_protect_init(ngx_conf_t *cf)
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
