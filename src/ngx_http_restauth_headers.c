
/*
 * ngx_http_restauth: the identity headers restauth_protect hands upstream.
 *
 * Every client header the module could set anywhere in the configuration
 * (and look-alikes such as X_Auth_User_Id) is removed before the verified
 * claims are added, for the location that finally serves the request:
 * after an internal redirect the new location's list is applied again.  A subrequest gets
 * its own copy of the header list first, because nginx shares the main
 * request's list with it.
 */


#include "ngx_http_restauth_common.h"


static ngx_uint_t ngx_http_restauth_header_is(ngx_str_t *key,
    ngx_str_t *match);
static ngx_uint_t ngx_http_restauth_is_ours(ngx_http_request_t *r,
    ngx_str_t *key);
static void ngx_http_restauth_relocate(ngx_http_request_t *r,
    ngx_table_elt_t *from, ngx_table_elt_t *to);
static void ngx_http_restauth_strip_headers(ngx_http_request_t *r);
static ngx_int_t ngx_http_restauth_add_claim_header(ngx_http_request_t *r,
    restauth_identity_t *identity, ngx_http_restauth_claim_header_t *ch);
static ngx_int_t ngx_http_restauth_add_claim_headers(ngx_http_request_t *r,
    ngx_http_restauth_loc_conf_t *rlcf, restauth_identity_t *identity);


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


/* The always-on names, and every name any restauth_claim_header declares. */
static ngx_uint_t
ngx_http_restauth_is_ours(ngx_http_request_t *r, ngx_str_t *key)
{
    ngx_str_t                      *name;
    ngx_uint_t                      i;
    ngx_http_restauth_main_conf_t  *rmcf;

    for (i = 0; i < NGX_HTTP_RESTAUTH_NDEFAULT_HEADERS; i++) {
        if (ngx_http_restauth_header_is(key,
                                   &ngx_http_restauth_default_headers[i].match))
        {
            return 1;
        }
    }

    rmcf = ngx_http_get_module_main_conf(r, ngx_http_restauth_module);

    if (rmcf->identity_headers) {
        name = rmcf->identity_headers->elts;

        for (i = 0; i < rmcf->identity_headers->nelts; i++) {
            if (ngx_http_restauth_header_is(key, &name[i])) {
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
 * Removes every client header the module could set in any location (and
 * look-alikes such as X_Auth_User_Id), so a backend never trusts a forged
 * identity.  Known
 * nginx headers are never in that set (checked at configuration time), so
 * only pointers to the elements shifted down need fixing.
 */
static void
ngx_http_restauth_strip_headers(ngx_http_request_t *r)
{
    ngx_uint_t        i, j;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    for (part = &r->headers_in.headers.part; part; part = part->next) {
        h = part->elts;
        i = 0;

        while (i < part->nelts) {
            if (!ngx_http_restauth_is_ours(r, &h[i].key)) {
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
    restauth_identity_t *identity, ngx_http_restauth_claim_header_t *ch)
{
    restauth_str_t    path, value;
    ngx_table_elt_t  *h;

    path.data = (const char *) ch->claim.data;
    path.len = ch->claim.len;

    if (!restauth_identity_claim(identity, path, &value)) {
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
    ngx_http_restauth_loc_conf_t *rlcf, restauth_identity_t *identity)
{
    ngx_uint_t                         i;
    ngx_http_restauth_claim_header_t  *ch;

    for (i = 0; i < NGX_HTTP_RESTAUTH_NDEFAULT_HEADERS; i++) {
        if (ngx_http_restauth_add_claim_header(r, identity,
                                        &ngx_http_restauth_default_headers[i])
            != NGX_OK)
        {
            return NGX_ERROR;
        }
    }

    if (rlcf->claim_headers) {
        ch = rlcf->claim_headers->elts;

        for (i = 0; i < rlcf->claim_headers->nelts; i++) {
            if (ngx_http_restauth_add_claim_header(r, identity, &ch[i]) != NGX_OK) {
                return NGX_ERROR;
            }
        }
    }

    return NGX_OK;
}


/* Strips every identity header from the request and, for a verified
 * token, adds the location's claim headers. */
ngx_int_t
ngx_http_restauth_headers_apply(ngx_http_request_t *r,
    ngx_http_restauth_loc_conf_t *rlcf, ngx_http_restauth_protect_ctx_t *pctx)
{
    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "restauth headers apply, status:%d",
                   pctx ? (int) pctx->status : -1);

    ngx_http_restauth_strip_headers(r);

    if (pctx == NULL || pctx->status != RESTAUTH_TOKEN_OK) {
        return NGX_OK;
    }

    return ngx_http_restauth_add_claim_headers(r, rlcf, pctx->identity);
}


/*
 * A subrequest starts with a shallow copy of its parent's headers_in: the
 * list's elements (and, before nginx 1.23, the cookie and X-Forwarded-For
 * pointer arrays) are shared.  Give it its own copies, so stripping and
 * adding headers here cannot disturb the main request.
 */
ngx_int_t
ngx_http_restauth_headers_own(ngx_http_request_t *r)
{
    ngx_uint_t        i, n;
    ngx_list_t        shared;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h, *copy;
#if (nginx_version < 1023000)
    ngx_array_t       arr;
#endif

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "restauth headers own");

#if (nginx_version < 1023000)
    arr = r->headers_in.cookies;
    if (ngx_array_init(&r->headers_in.cookies, r->pool,
                       arr.nelts ? arr.nelts : 1, sizeof(ngx_table_elt_t *))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (arr.nelts) {
        ngx_memcpy(r->headers_in.cookies.elts, arr.elts,
                   arr.nelts * sizeof(ngx_table_elt_t *));
        r->headers_in.cookies.nelts = arr.nelts;
    }

#if (NGX_HTTP_X_FORWARDED_FOR)
    arr = r->headers_in.x_forwarded_for;
    if (ngx_array_init(&r->headers_in.x_forwarded_for, r->pool,
                       arr.nelts ? arr.nelts : 1, sizeof(ngx_table_elt_t *))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (arr.nelts) {
        ngx_memcpy(r->headers_in.x_forwarded_for.elts, arr.elts,
                   arr.nelts * sizeof(ngx_table_elt_t *));
        r->headers_in.x_forwarded_for.nelts = arr.nelts;
    }
#endif
#endif

    shared = r->headers_in.headers;

    n = 0;
    for (part = &shared.part; part; part = part->next) {
        n += part->nelts;
    }

    if (ngx_list_init(&r->headers_in.headers, r->pool, n ? n : 1,
                      sizeof(ngx_table_elt_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    for (part = &shared.part; part; part = part->next) {
        h = part->elts;

        for (i = 0; i < part->nelts; i++) {
            copy = ngx_list_push(&r->headers_in.headers);
            if (copy == NULL) {
                return NGX_ERROR;
            }

            *copy = h[i];
            ngx_http_restauth_relocate(r, &h[i], copy);
        }
    }

    return NGX_OK;
}


void
ngx_http_restauth_headers_init(void)
{
    ngx_uint_t  i;

    for (i = 0; i < NGX_HTTP_RESTAUTH_NDEFAULT_HEADERS; i++) {
        ngx_http_restauth_default_headers[i].hash = ngx_hash_key(
                            ngx_http_restauth_default_headers[i].lowcase.data,
                            ngx_http_restauth_default_headers[i].lowcase.len);
    }
}
