
/*
 * ngx_http_restauth: JSON bodies for restauth_protect's refusals.
 *
 * restauth_protect returns its 401, 403 and 503 to nginx's phase engine,
 * as auth_basic does, so satisfy, error_page and auth_delay work.  nginx
 * then answers with its own HTML error page; these filters swap that page
 * for the contract's JSON.  An operator's error_page wins: it answers from
 * another location (or with another status), which these filters leave
 * alone.
 */


#include "ngx_http_restauth_common.h"


static ngx_http_output_header_filter_pt  ngx_http_next_header_filter;
static ngx_http_output_body_filter_pt    ngx_http_next_body_filter;

static ngx_str_t  ngx_http_restauth_json_type =
    ngx_string("application/json");


/* Is this nginx's own error page for the refusal restauth_protect made? */
static ngx_uint_t
ngx_http_restauth_is_our_refusal(ngx_http_request_t *r,
    ngx_http_restauth_protect_ctx_t *pctx)
{
    ngx_http_restauth_loc_conf_t  *rlcf;

    if (pctx->deny_status != r->headers_out.status
        || r->err_status != r->headers_out.status)
    {
        return 0;
    }

    /* nginx's special response is text/html; an error_page's is whatever
     * its location says, usually not */
    if (r->headers_out.content_type.len != sizeof("text/html") - 1
        || ngx_strncmp(r->headers_out.content_type.data, "text/html",
                       sizeof("text/html") - 1) != 0)
    {
        return 0;
    }

    rlcf = ngx_http_get_module_loc_conf(r, ngx_http_restauth_module);

    /* the refusing location, or the main request after an auth_request
     * subrequest refused */
    return rlcf == pctx->deny_conf
           || (r == r->main && pctx->deny_in_subrequest);
}


static ngx_int_t
ngx_http_restauth_header_filter(ngx_http_request_t *r)
{
    ngx_http_restauth_protect_ctx_t  *pctx;

    if (r->headers_out.status < NGX_HTTP_MOVED_TEMPORARILY
        || r->err_status == 0)
    {
        return ngx_http_next_header_filter(r);
    }

    pctx = ngx_http_restauth_protect_ctx(r, 0);

    if (pctx == NULL || pctx->deny_status == 0
        || pctx->deny_status == NGX_HTTP_MOVED_TEMPORARILY
        || !ngx_http_restauth_is_our_refusal(r, pctx))
    {
        return ngx_http_next_header_filter(r);
    }

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "restauth header filter: JSON body for %ui",
                   r->headers_out.status);

    /* the verdict is shared with subrequests: remember which request's
     * body is replaced */
    pctx->json_request = r;

    r->headers_out.content_type = ngx_http_restauth_json_type;
    r->headers_out.content_type_len = ngx_http_restauth_json_type.len;
    r->headers_out.content_type_lowcase = NULL;
    ngx_str_null(&r->headers_out.charset);
    r->headers_out.content_length_n = pctx->deny_body.len;

    if (r->headers_out.content_length) {
        r->headers_out.content_length->hash = 0;
        r->headers_out.content_length = NULL;
    }

    return ngx_http_next_header_filter(r);
}


static ngx_int_t
ngx_http_restauth_body_filter(ngx_http_request_t *r, ngx_chain_t *in)
{
    ngx_buf_t                        *b;
    ngx_chain_t                      *cl, out;
    ngx_http_restauth_protect_ctx_t  *pctx;

    if (in == NULL || r->err_status == 0) {
        return ngx_http_next_body_filter(r, in);
    }

    pctx = ngx_http_restauth_protect_ctx(r, 0);

    if (pctx == NULL || pctx->json_request != r) {
        return ngx_http_next_body_filter(r, in);
    }

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "restauth body filter");

    /* nginx's HTML page is dropped */
    for (cl = in; cl; cl = cl->next) {
        cl->buf->pos = cl->buf->last;
        cl->buf->file_pos = cl->buf->file_last;
    }

    if (pctx->json_sent) {
        return NGX_OK;
    }

    pctx->json_sent = 1;

    b = ngx_calloc_buf(r->pool);
    if (b == NULL) {
        return NGX_ERROR;
    }

    b->pos = (u_char *) pctx->deny_body.data;
    b->last = b->pos + pctx->deny_body.len;
    b->memory = 1;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_next_body_filter(r, &out);
}


ngx_int_t
ngx_http_restauth_filter_init(ngx_conf_t *cf)
{
    ngx_http_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = ngx_http_restauth_header_filter;

    ngx_http_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = ngx_http_restauth_body_filter;

    return NGX_OK;
}
