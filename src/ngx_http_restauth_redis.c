
/*
 * ngx_http_restauth: the worker's Redis connection.
 *
 * hiredis's asynchronous client on nginx's event loop: the socket is
 * wrapped in an nginx connection, read and write interest are nginx
 * events, and a link is freed by hiredis's own cleanup hook, so nothing
 * outlives its context.  Commands go out in order on one connection.
 *
 * A request whose reply is late answers 503 on its own timer and detaches
 * its callbacks (the late reply is dropped); the others keep waiting on
 * the same connection.  When the connection has had commands pending and
 * read nothing for restauth_redis_timeout, it is retired: new commands go
 * to a new connection, and the retired one keeps delivering to the
 * requests already waiting on it until it is closed one more
 * restauth_redis_timeout later, when every request that used it has had
 * its reply or its own timeout.  So a dead Redis is left behind, and no
 * request is failed by another's timeout.  A reset (exit) answers every
 * pending command with NULL.
 */


#include "ngx_http_restauth_common.h"



typedef struct ngx_http_restauth_redis_s  ngx_http_restauth_redis_t;

/* One hiredis context and the nginx connection wrapping its socket; freed
 * by hiredis's cleanup hook, so it never outlives the context. */
typedef struct {
    ngx_http_restauth_redis_t *rd;
    redisAsyncContext         *ac;
    ngx_connection_t          *conn;
    /* when the link last read from Redis, or went from idle to busy */
    ngx_msec_t                 progress;
    /* retired: the link is freed when this fires */
    ngx_event_t                drain;
    ngx_queue_t                queue;           /* in rd->retired */
    unsigned                   retired:1;
} ngx_http_restauth_redis_link_t;


/* The worker's Redis client: at most one link taking new commands, and
 * retired links still delivering replies to the requests that used them. */
struct ngx_http_restauth_redis_s {
    ngx_http_restauth_redis_link_t  *link;
    ngx_queue_t                      retired;
    ngx_log_t                       *log;
};


static ngx_int_t ngx_http_restauth_redis_connect(
    ngx_http_restauth_redis_t *rd);
static void ngx_http_restauth_redis_drain(ngx_event_t *ev);


/* Lives from init_process to exit_process; NULL when no location uses
 * Redis. */
static ngx_http_restauth_redis_t  *ngx_http_restauth_redis_conn;


static void
ngx_http_restauth_redis_read(ngx_event_t *ev)
{
    ngx_connection_t                *c = ev->data;
    ngx_http_restauth_redis_link_t  *link = c->data;

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, ev->log, 0, "restauth redis read");

    link->progress = ngx_current_msec;

    /* May free the context, the link and c: touch none afterwards. */
    redisAsyncHandleRead(link->ac);
}


static void
ngx_http_restauth_redis_write(ngx_event_t *ev)
{
    ngx_connection_t                *c = ev->data;
    ngx_http_restauth_redis_link_t  *link = c->data;

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, ev->log, 0, "restauth redis write");

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

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, link->rd->log, 0,
                   "restauth redis cleanup");

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

    if (link->drain.timer_set) {
        ngx_del_timer(&link->drain);
    }

    if (link->retired) {
        ngx_queue_remove(&link->queue);
    }

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

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "restauth redis %s reply", (char *) privdata);

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

    ngx_log_debug1(NGX_LOG_DEBUG_HTTP, rd->log, 0,
                   "restauth redis connect to \"%V\"", &rmcf->redis_addr);

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
    link->progress = ngx_current_msec;
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


ngx_int_t
ngx_http_restauth_redis_submit(int argc, const char **argv,
    const size_t *argvlen, redisCallbackFn *fn, void *privdata)
{
    ngx_http_restauth_redis_t  *rd;

    rd = ngx_http_restauth_redis_conn;

    if (rd == NULL
        || (rd->link == NULL && ngx_http_restauth_redis_connect(rd) != NGX_OK))
    {
        return NGX_ERROR;
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, rd->log, 0,
                   "restauth redis submit: %*s", argvlen[0], argv[0]);

    if (rd->link->ac->replies.head == NULL) {
        /* idle until now: the wait for a reply starts here */
        rd->link->progress = ngx_current_msec;
    }

    if (redisAsyncCommandArgv(rd->link->ac, fn, privdata, argc, argv, argvlen)
        != REDIS_OK)
    {
        return NGX_ERROR;
    }

    return NGX_OK;
}


void
ngx_http_restauth_redis_add_timer(ngx_event_t *timer,
    ngx_event_handler_pt handler, ngx_log_t *log)
{
    ngx_http_restauth_main_conf_t  *rmcf;

    rmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_restauth_module);

    timer->handler = handler;
    timer->log = log;

    ngx_add_timer(timer, rmcf->redis_timeout);
}


/*
 * A request's reply is late; it has detached its callbacks already.  The
 * connection is kept while it makes progress (replies to other requests
 * keep coming, or it went busy less than restauth_redis_timeout ago);
 * otherwise it is retired, not freed, so the requests waiting on it are
 * not failed.
 */
void
ngx_http_restauth_redis_timed_out(void)
{
    ngx_http_restauth_redis_t       *rd;
    ngx_http_restauth_redis_link_t  *link;
    ngx_http_restauth_main_conf_t   *rmcf;

    rd = ngx_http_restauth_redis_conn;

    if (rd == NULL || rd->link == NULL) {
        return;
    }

    link = rd->link;

    if (link->ac->replies.head == NULL) {
        /* idle: the late command was on a link retired before */
        return;
    }

    rmcf = ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_restauth_module);

    if (ngx_current_msec - link->progress < rmcf->redis_timeout) {
        return;
    }

    ngx_log_error(NGX_LOG_ERR, rd->log, 0,
                  "restauth: redis has read nothing for "
                  "restauth_redis_timeout with commands pending; new commands "
                  "go to a new connection");

    rd->link = NULL;
    link->retired = 1;
    ngx_queue_insert_tail(&rd->retired, &link->queue);

    link->drain.handler = ngx_http_restauth_redis_drain;
    link->drain.data = link;
    link->drain.log = rd->log;
    /* a worker that exits frees it in exit_process; not worth waiting for */
    link->drain.cancelable = 1;

    /* Every command on it was sent before now, so by then each waiting
     * request has had its reply or its own timeout. */
    ngx_add_timer(&link->drain, rmcf->redis_timeout);
}


static void
ngx_http_restauth_redis_drain(ngx_event_t *ev)
{
    ngx_http_restauth_redis_link_t  *link = ev->data;

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, ev->log, 0,
                   "restauth redis retired link closed");

    /* Any callback still pending is detached (its request timed out):
     * hiredis answers it with NULL, which frees it; then the cleanup hook
     * frees the link. */
    redisAsyncFree(link->ac);
}


void
ngx_http_restauth_redis_reset(void)
{
    ngx_http_restauth_redis_t       *rd;
    ngx_http_restauth_redis_link_t  *link;

    rd = ngx_http_restauth_redis_conn;

    if (rd == NULL || rd->link == NULL) {
        return;
    }

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, rd->log, 0, "restauth redis reset");

    link = rd->link;
    rd->link = NULL;

    /* Answers each pending callback with a NULL reply, then calls the
     * cleanup hook, which frees the link. */
    redisAsyncFree(link->ac);
}


ngx_int_t
ngx_http_restauth_redis_init_process(ngx_cycle_t *cycle)
{
    ngx_http_restauth_redis_t  *rd;

    rd = ngx_pcalloc(cycle->pool, sizeof(ngx_http_restauth_redis_t));
    if (rd == NULL) {
        return NGX_ERROR;
    }

    rd->log = cycle->log;
    ngx_queue_init(&rd->retired);
    ngx_http_restauth_redis_conn = rd;

    /* Connect eagerly; a failure here is retried by the first request. */
    (void) ngx_http_restauth_redis_connect(rd);

    return NGX_OK;
}


void
ngx_http_restauth_redis_exit_process(ngx_cycle_t *cycle)
{
    ngx_queue_t                     *q;
    ngx_http_restauth_redis_t       *rd;
    ngx_http_restauth_redis_link_t  *link;

    ngx_http_restauth_redis_reset();

    rd = ngx_http_restauth_redis_conn;

    if (rd != NULL) {
        /* the cleanup hook unlinks each */
        while (!ngx_queue_empty(&rd->retired)) {
            q = ngx_queue_head(&rd->retired);
            link = ngx_queue_data(q, ngx_http_restauth_redis_link_t, queue);
            redisAsyncFree(link->ac);
        }
    }

    ngx_http_restauth_redis_conn = NULL;
}
