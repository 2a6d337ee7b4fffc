
/*
 * ngx_http_restauth: the restauth_api content handler.
 *
 * Reads the request body into memory, hands the request to the core, and
 * drives the core's call: it runs the Redis commands and thread-pool jobs
 * the call asks for and sends the response when the call is done.
 */


#include "ngx_http_restauth_common.h"


static void ngx_http_restauth_body_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_restauth_collect_body(ngx_http_request_t *r,
    restauth_str_t *body);
static void ngx_http_restauth_wait(ngx_http_request_t *r);
static void ngx_http_restauth_run(ngx_http_restauth_ctx_t *ctx);
static ngx_int_t ngx_http_restauth_send_redis(ngx_http_restauth_ctx_t *ctx);
static void ngx_http_restauth_redis_late(ngx_event_t *ev);
static void ngx_http_restauth_redis_reply(redisAsyncContext *ac, void *reply,
    void *privdata);
static void ngx_http_restauth_cleanup(void *data);
static void ngx_http_restauth_flush_log(ngx_http_request_t *r,
    restauth_call_t *call);
static ngx_int_t ngx_http_restauth_send_response(ngx_http_request_t *r,
    restauth_call_t *call);


ngx_int_t
ngx_http_restauth_api_handler(ngx_http_request_t *r)
{
    ngx_int_t                      rc;
    ngx_http_restauth_loc_conf_t  *rlcf;

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "restauth api handler");

    rlcf = ngx_http_get_module_loc_conf(r, ngx_http_restauth_module);

    if (r->headers_in.content_length_n > (off_t) rlcf->max_body_size) {
        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "restauth: request body of %O bytes exceeds "
                      "restauth_max_body_size", r->headers_in.content_length_n);
        ngx_http_discard_request_body(r);
        return ngx_http_restauth_send_error(r,
                                            NGX_HTTP_REQUEST_ENTITY_TOO_LARGE);
    }

    /*
     * Keep the body in one memory buffer: reading a temp file would block.
     * The location's client_body_buffer_size is at least
     * restauth_max_body_size (see the module's merge_loc_conf), so a body
     * within the limit is never spooled to disk.
     */
    r->request_body_in_single_buf = 1;

    rc = ngx_http_read_client_request_body(r, ngx_http_restauth_body_handler);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
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
        b = cl->buf;

        /*
         * A chunked body's chain ends with an empty last_buf whose pos is
         * NULL: memcpy() from NULL is undefined even for 0 bytes.
         */
        if (b->last == b->pos) {
            continue;
        }

        p = ngx_cpymem(p, b->pos, b->last - b->pos);
    }

    return NGX_OK;
}


static void
ngx_http_restauth_body_handler(ngx_http_request_t *r)
{
    ngx_int_t                      rc;
    ngx_str_t                      path;
    ngx_uint_t                     accept_count;
    ngx_pool_cleanup_t            *cln;
    restauth_request_t             req;
    ngx_http_restauth_ctx_t       *ctx;
    ngx_http_core_loc_conf_t      *clcf;
    ngx_http_restauth_loc_conf_t  *rlcf;

    static ngx_str_t  csrf_header = ngx_string("X-CSRFToken");
    static ngx_str_t  accept_header = ngx_string("Accept");

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "restauth body handler");

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
    ngx_http_restauth_csrf_context(r, &req.host, &req.origin, &req.referer,
                                   &req.secure);

    if (ngx_http_restauth_cookies(r, &req.cookie) != NGX_OK) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    /* The core negotiates the response type (406 for what JSON cannot
     * satisfy); we only pass the header on. */
    if (ngx_http_restauth_join_headers(r, &accept_header, &req.accept,
                                       &accept_count)
        != NGX_OK)
    {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    req.accept_count = (int) accept_count;

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

    ctx->timer.data = ctx;

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

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "restauth run, running:%ui", (ngx_uint_t) ctx->running);

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
            if (ngx_http_restauth_job_post(ctx) == NGX_OK) {
                ngx_http_restauth_wait(r);
                ctx->running = 0;
                return;
            }

            /* refused: the call answers 503 */
            continue;
        }

        break;
    }

    ctx->running = 0;

    rc = ngx_http_restauth_send_response(r, ctx->call);
    ngx_http_finalize_request(r, rc);
}


/* A Redis reply batch or a job completed outside the request's own
 * handlers: step the call, then run what the step posted. */
void
ngx_http_restauth_api_resume(ngx_http_restauth_ctx_t *ctx)
{
    ngx_connection_t  *c;

    c = ctx->request->connection;

    ngx_http_restauth_run(ctx);
    ngx_http_run_posted_requests(c);
}


static ngx_int_t
ngx_http_restauth_send_redis(ngx_http_restauth_ctx_t *ctx)
{
    int                             argc;
    size_t                          i, n;
    const char                    **argv;
    const size_t                   *argvlen;
    ngx_http_restauth_redis_op_t   *op;

    n = restauth_call_redis_count(ctx->call);

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ctx->request->connection->log, 0,
                   "restauth send %uz redis commands", n);

    if (ctx->nops < n) {
        ctx->ops = ngx_pcalloc(ctx->request->pool, n * sizeof(void *));
        if (ctx->ops == NULL) {
            ctx->nops = 0;
            goto fail_all;
        }

        ctx->nops = n;
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

        if (ngx_http_restauth_redis_submit(argc, argv, argvlen,
                                           ngx_http_restauth_redis_reply, op)
            != NGX_OK)
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

    ngx_http_restauth_redis_add_timer(&ctx->timer,
                                      ngx_http_restauth_redis_late,
                                      ctx->request->connection->log);

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

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ctx->request->connection->log, 0,
                   "restauth redis reply %ui of %ui", op->index,
                   ctx->pending);

    ctx->ops[op->index] = NULL;
    restauth_call_redis_reply(ctx->call, op->index, reply);
    ngx_free(op);

    if (--ctx->pending > 0) {
        return;
    }

    if (ctx->timer.timer_set) {
        ngx_del_timer(&ctx->timer);
    }

    ngx_http_restauth_api_resume(ctx);
}


/*
 * restauth_redis_timeout passed without every reply: this request answers
 * 503 alone.  Its commands still in flight are detached (the reply
 * callback frees them when their late replies come, or when the
 * connection is closed), so the connection stays with the other requests.
 */
static void
ngx_http_restauth_redis_late(ngx_event_t *ev)
{
    ngx_uint_t                i;
    ngx_http_restauth_ctx_t  *ctx;

    ctx = ev->data;

    ngx_log_error(NGX_LOG_ERR, ev->log, 0,
                  "restauth: redis did not answer within "
                  "restauth_redis_timeout");

    for (i = 0; i < ctx->nops; i++) {
        if (ctx->ops[i]) {
            ctx->ops[i]->ctx = NULL;
            ctx->ops[i] = NULL;
            restauth_call_redis_reply(ctx->call, i, NULL);
        }
    }

    ctx->pending = 0;

    ngx_http_restauth_redis_timed_out();

    ngx_http_restauth_api_resume(ctx);
}


static void
ngx_http_restauth_cleanup(void *data)
{
    ngx_http_restauth_ctx_t *ctx = data;

    ngx_uint_t  i;

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, ctx->request->connection->log, 0,
                   "restauth cleanup");

    if (ctx->timer.timer_set) {
        ngx_del_timer(&ctx->timer);
    }

    for (i = 0; i < ctx->nops; i++) {
        if (ctx->ops[i]) {
            ctx->ops[i]->ctx = NULL;
        }
    }

    if (ctx->job) {
        /* the job layer frees the call: at once if the job waits, when
         * it ends if a pool thread runs it */
        ngx_http_restauth_job_cancel(ctx->job);
        return;
    }

    restauth_call_destroy(ctx->call);
}


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
