
/*
 * ngx_http_restauth: CPU jobs (password hashing) on nginx's thread pool.
 *
 * A job keeps its call alive until it ends: when the request leaves first,
 * the completion handler frees the call.
 */


#include "ngx_http_restauth_common.h"

#if (NGX_LINUX)
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>

/* Niceness of thread-pool threads while they run restauth jobs. */
#define NGX_HTTP_RESTAUTH_JOB_NICE  10
#endif


static void ngx_http_restauth_job_handler(void *data, ngx_log_t *log);
static void ngx_http_restauth_job_done(ngx_event_t *ev);


ngx_int_t
ngx_http_restauth_job_post(ngx_http_restauth_ctx_t *ctx)
{
    ngx_thread_task_t              *task;
    ngx_http_restauth_job_t        *job;
    ngx_http_restauth_main_conf_t  *rmcf;

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, ctx->request->connection->log, 0,
                   "restauth job post");

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

    ngx_log_debug0(NGX_LOG_DEBUG_CORE, log, 0, "restauth job run");

    restauth_call_run_job(job->call);
}


static void
ngx_http_restauth_job_done(ngx_event_t *ev)
{
    ngx_thread_task_t        *task;
    ngx_http_restauth_ctx_t  *ctx;
    ngx_http_restauth_job_t  *job;

    task = ev->data;
    job = task->ctx;
    ctx = job->ctx;

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, ev->log, 0, "restauth job done");

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

    ngx_http_restauth_api_resume(ctx);
}
