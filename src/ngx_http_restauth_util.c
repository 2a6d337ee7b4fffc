
/*
 * ngx_http_restauth: reading a request's credentials and answering JSON,
 * shared by the API content handler and the protect access handler.
 */


#include "ngx_http_restauth_common.h"


static ngx_str_t  ngx_http_restauth_json_type =
    ngx_string("application/json");


ngx_str_t *
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


/*
 * Every header called `name`, joined with ", " into one list (as a WSGI
 * server hands repeated headers to Django); *count is how many there were.
 */
ngx_int_t
ngx_http_restauth_join_headers(ngx_http_request_t *r, ngx_str_t *name,
    restauth_str_t *out, ngx_uint_t *count)
{
    u_char           *p;
    size_t            len;
    ngx_uint_t        i, n, pass;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    out->data = "";
    out->len = 0;
    *count = 0;
    len = 0;
    n = 0;
    p = NULL;

    /* pass 0 measures, pass 1 copies */

    for (pass = 0; pass < 2; pass++) {

        part = &r->headers_in.headers.part;
        h = part->elts;

        for (i = 0; /* void */; i++) {

            if (i >= part->nelts) {
                if (part->next == NULL) {
                    break;
                }

                part = part->next;
                h = part->elts;
                i = 0;
            }

            if (h[i].key.len != name->len
                || ngx_strncasecmp(h[i].key.data, name->data, name->len) != 0)
            {
                continue;
            }

            if (pass == 0) {
                len += (*count ? 2 : 0) + h[i].value.len;
                (*count)++;
                continue;
            }

            if (n++) {
                *p++ = ','; *p++ = ' ';
            }

            if (h[i].value.len) {
                p = ngx_cpymem(p, h[i].value.data, h[i].value.len);
            }
        }

        if (pass == 0) {
            if (len == 0) {
                return NGX_OK;
            }

            p = ngx_pnalloc(r->pool, len);
            if (p == NULL) {
                return NGX_ERROR;
            }

            out->data = (const char *) p;
        }
    }

    out->len = p - (u_char *) out->data;

    return NGX_OK;
}


void
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


void
ngx_http_restauth_csrf_context(ngx_http_request_t *r, restauth_str_t *host,
    restauth_str_t *origin, restauth_str_t *referer, int *secure)
{
    static ngx_str_t  origin_header = ngx_string("Origin");

    ngx_http_restauth_str(host, r->headers_in.host
                                ? &r->headers_in.host->value : NULL);
    ngx_http_restauth_str(origin,
                          ngx_http_restauth_find_header(r, &origin_header));
    ngx_http_restauth_str(referer, r->headers_in.referer
                                   ? &r->headers_in.referer->value : NULL);
#if (NGX_HTTP_SSL)
    *secure = (r->connection->ssl != NULL);
#else
    *secure = 0;
#endif
}


ngx_int_t
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


ngx_int_t
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


ngx_int_t
ngx_http_restauth_send_error(ngx_http_request_t *r, ngx_uint_t status)
{
    return ngx_http_restauth_send_json(r, status,
                                       restauth_error_body((int) status));
}
