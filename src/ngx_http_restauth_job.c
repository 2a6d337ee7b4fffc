
/*
 * ngx_http_restauth: CPU jobs (password hashing) on nginx's thread pool.
 *
 * Each worker schedules its own jobs: at most restauth_jobs run at once,
 * the rest wait in a FIFO of at most restauth_job_queue entries.  A job
 * that finds the queue full, or that waits longer than
 * restauth_job_queue_timeout, is refused: the call answers 503 with
 * Retry-After.  Bounding the jobs in flight, not lowering the threads'
 * priority, is what keeps the event loop responsive: hashing threads run
 * at normal priority, so foreign CPU load cannot starve logins.
 *
 * Every job takes the same path whatever its outcome will be: the
 * scheduler never looks at what a job computes, so an unknown account's
 * dummy hash waits and runs exactly like a real one.
 *
 * One timer per worker, not cancelable, is armed while jobs run or wait.
 * It expires waiting jobs, and it keeps a gracefully exiting worker
 * (reload, quit) alive until every job has ended and its client has its
 * answer: nginx's exiting worker waits only for such timers.
 *
 * A job keeps its call alive until it ends: when the request leaves while
 * the job runs, the completion handler frees the call; when it leaves
 * while the job waits, the job is dropped from the queue at once.
 */


#include "ngx_http_restauth_common.h"


/* How often the timer fires while jobs only run (nothing waits): it just
 * keeps an exiting worker alive. */
#define NGX_HTTP_RESTAUTH_JOB_IDLE_TIMER  60000


struct ngx_http_restauth_job_s {
    ngx_thread_task_t         *task;
    ngx_http_restauth_ctx_t   *ctx;         /* NULL: the request left */
    restauth_call_t           *call;
    ngx_thread_pool_t         *pool;
    ngx_queue_t                queue;       /* while waiting */
    ngx_msec_t                 deadline;    /* of waiting */
    ngx_msec_t                 started;
    unsigned                   running:1;
};


/* The worker's scheduler. */
typedef struct {
    ngx_queue_t                waiting;
    ngx_uint_t                 nwaiting;
    ngx_uint_t                 running;
    ngx_msec_t                 avg_ms;      /* of recent jobs, for
                                               Retry-After */
    ngx_event_t                timer;
    unsigned                   initialized:1;
} ngx_http_restauth_jobs_t;


static ngx_http_restauth_jobs_t  ngx_http_restauth_jobs;


static ngx_http_restauth_main_conf_t *ngx_http_restauth_jobs_conf(void);
static ngx_uint_t ngx_http_restauth_jobs_max(
    ngx_http_restauth_main_conf_t *rmcf);
static ngx_int_t ngx_http_restauth_job_start(ngx_http_restauth_job_t *job);
static void ngx_http_restauth_jobs_start_waiting(void);
static void ngx_http_restauth_job_refuse(ngx_http_restauth_job_t *job);
static unsigned ngx_http_restauth_jobs_retry_after(void);
static void ngx_http_restauth_jobs_arm(void);
static void ngx_http_restauth_jobs_timer_handler(ngx_event_t *ev);
static void ngx_http_restauth_job_handler(void *data, ngx_log_t *log);
static void ngx_http_restauth_job_done(ngx_event_t *ev);


ngx_int_t
ngx_http_restauth_job_init_process(ngx_cycle_t *cycle)
{
    ngx_http_restauth_jobs_t  *jobs = &ngx_http_restauth_jobs;

    if (jobs->initialized) {
        return NGX_OK;
    }

    ngx_queue_init(&jobs->waiting);

    jobs->timer.handler = ngx_http_restauth_jobs_timer_handler;
    jobs->timer.data = jobs;
    jobs->timer.log = cycle->log;
    jobs->timer.cancelable = 0;
    jobs->initialized = 1;

    return NGX_OK;
}


/*
 * Queues the call's job, or starts it when a slot is free.  NGX_OK: the
 * job layer will resume the request (ngx_http_restauth_api_resume) when
 * the job has ended or was refused.  Otherwise the job is refused now,
 * the call was told so (restauth_call_job_failed) and the caller steps it
 * on to its 503.
 */
ngx_int_t
ngx_http_restauth_job_post(ngx_http_restauth_ctx_t *ctx)
{
    ngx_log_t                      *log;
    ngx_thread_task_t              *task;
    ngx_http_restauth_job_t        *job;
    ngx_http_restauth_jobs_t       *jobs = &ngx_http_restauth_jobs;
    ngx_http_restauth_main_conf_t  *rmcf;

    log = ctx->request->connection->log;
    rmcf = ngx_http_get_module_main_conf(ctx->request,
                                         ngx_http_restauth_module);

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, log, 0,
                   "restauth job post, running:%ui waiting:%ui",
                   jobs->running, jobs->nwaiting);

    if (!jobs->initialized) {
        (void) ngx_http_restauth_job_init_process((ngx_cycle_t *) ngx_cycle);
    }

    if (jobs->running >= ngx_http_restauth_jobs_max(rmcf)
        && jobs->nwaiting >= rmcf->job_queue)
    {
        ngx_log_error(NGX_LOG_WARN, log, 0,
                      "restauth: job refused, %ui jobs running and %ui "
                      "waiting (restauth_jobs, restauth_job_queue)",
                      jobs->running, jobs->nwaiting);
        restauth_call_job_failed(ctx->call,
                                 ngx_http_restauth_jobs_retry_after());
        return NGX_DECLINED;
    }

    /* Heap, not the request pool: the job may outlive the request. */
    task = ngx_calloc(sizeof(ngx_thread_task_t)
                      + sizeof(ngx_http_restauth_job_t), log);
    if (task == NULL) {
        restauth_call_job_failed(ctx->call,
                                 ngx_http_restauth_jobs_retry_after());
        return NGX_ERROR;
    }

    job = (ngx_http_restauth_job_t *) (task + 1);
    job->task = task;
    job->ctx = ctx;
    job->call = ctx->call;
    job->pool = rmcf->thread_pool;

    task->ctx = job;
    task->handler = ngx_http_restauth_job_handler;
    task->event.data = task;
    task->event.handler = ngx_http_restauth_job_done;
    task->event.log = ngx_cycle->log;

    if (jobs->running < ngx_http_restauth_jobs_max(rmcf)) {
        /* a free slot means nothing waits: the queue is started in order
         * whenever a slot frees */

        if (ngx_http_restauth_job_start(job) != NGX_OK) {
            ngx_free(task);
            restauth_call_job_failed(ctx->call,
                                     ngx_http_restauth_jobs_retry_after());
            return NGX_ERROR;
        }

    } else {
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, log, 0, "restauth job queued");

        job->deadline = ngx_current_msec + rmcf->job_queue_timeout;
        ngx_queue_insert_tail(&jobs->waiting, &job->queue);
        jobs->nwaiting++;
    }

    ctx->job = job;

    ngx_http_restauth_jobs_arm();

    return NGX_OK;
}


/*
 * The request is gone (its pool cleanup).  A waiting job is dropped with
 * its call; a running one frees the call when it ends.
 */
void
ngx_http_restauth_job_cancel(ngx_http_restauth_job_t *job)
{
    ngx_http_restauth_jobs_t  *jobs = &ngx_http_restauth_jobs;

    job->ctx = NULL;

    if (job->running) {
        return;
    }

    ngx_log_debug0(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                   "restauth: waiting job of a finished request dropped");

    ngx_queue_remove(&job->queue);
    jobs->nwaiting--;

    restauth_call_destroy(job->call);
    ngx_free(job->task);

    ngx_http_restauth_jobs_arm();
}


/* The current cycle's configuration: jobs outlive their requests. */
static ngx_http_restauth_main_conf_t *
ngx_http_restauth_jobs_conf(void)
{
    return ngx_http_cycle_get_module_main_conf(ngx_cycle,
                                               ngx_http_restauth_module);
}


static ngx_uint_t
ngx_http_restauth_jobs_max(ngx_http_restauth_main_conf_t *rmcf)
{
    /* "auto" is resolved at init_process; only a configuration reloaded
     * without new workers (master_process off) can leave it unresolved */
    return rmcf->jobs ? rmcf->jobs : 1;
}


static ngx_int_t
ngx_http_restauth_job_start(ngx_http_restauth_job_t *job)
{
    ngx_http_restauth_jobs_t  *jobs = &ngx_http_restauth_jobs;

    if (ngx_thread_task_post(job->pool, job->task) != NGX_OK) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "restauth: the thread pool's queue is full");
        return NGX_ERROR;
    }

    job->running = 1;
    job->started = ngx_current_msec;
    jobs->running++;

    return NGX_OK;
}


/* Fills the free slots from the head of the queue. */
static void
ngx_http_restauth_jobs_start_waiting(void)
{
    ngx_queue_t                    *q;
    ngx_http_restauth_job_t        *job;
    ngx_http_restauth_jobs_t       *jobs = &ngx_http_restauth_jobs;
    ngx_http_restauth_main_conf_t  *rmcf;

    rmcf = ngx_http_restauth_jobs_conf();

    while (jobs->nwaiting
           && jobs->running < ngx_http_restauth_jobs_max(rmcf))
    {
        q = ngx_queue_head(&jobs->waiting);
        job = ngx_queue_data(q, ngx_http_restauth_job_t, queue);

        ngx_queue_remove(q);
        jobs->nwaiting--;

        if (ngx_http_restauth_job_start(job) != NGX_OK) {
            ngx_http_restauth_job_refuse(job);
        }
    }
}


/* A job that left the queue without running: its call answers 503. */
static void
ngx_http_restauth_job_refuse(ngx_http_restauth_job_t *job)
{
    ngx_http_restauth_ctx_t  *ctx;

    ctx = job->ctx;

    restauth_call_job_failed(job->call, ngx_http_restauth_jobs_retry_after());
    ngx_free(job->task);

    /* waiting jobs always have their request: cleanup drops them */
    ctx->job = NULL;
    ngx_http_restauth_api_resume(ctx);
}


/*
 * Retry-After: about how long a job posted now would wait, from the
 * recent jobs' duration; at least 1 s, at most the queue timeout.
 */
static unsigned
ngx_http_restauth_jobs_retry_after(void)
{
    ngx_msec_t                      wait, max;
    ngx_http_restauth_jobs_t       *jobs = &ngx_http_restauth_jobs;
    ngx_http_restauth_main_conf_t  *rmcf;

    rmcf = ngx_http_restauth_jobs_conf();

    wait = (jobs->nwaiting + 1) * jobs->avg_ms
           / ngx_http_restauth_jobs_max(rmcf);
    max = rmcf->job_queue_timeout;

    if (wait > max) {
        wait = max;
    }

    wait = (wait + 999) / 1000;

    return wait ? (unsigned) wait : 1;
}


/*
 * Keeps the timer at the first waiting job's deadline, or at a long
 * interval while jobs only run; removes it when no job is left.
 */
static void
ngx_http_restauth_jobs_arm(void)
{
    ngx_msec_t                 delay;
    ngx_msec_int_t             left;
    ngx_http_restauth_job_t   *job;
    ngx_http_restauth_jobs_t  *jobs = &ngx_http_restauth_jobs;

    if (jobs->timer.timer_set) {
        ngx_del_timer(&jobs->timer);
    }

    if (jobs->nwaiting) {
        job = ngx_queue_data(ngx_queue_head(&jobs->waiting),
                             ngx_http_restauth_job_t, queue);
        left = (ngx_msec_int_t) (job->deadline - ngx_current_msec);
        delay = left > 0 ? (ngx_msec_t) left : 1;

    } else if (jobs->running) {
        delay = NGX_HTTP_RESTAUTH_JOB_IDLE_TIMER;

    } else {
        return;
    }

    ngx_add_timer(&jobs->timer, delay);
}


/* Refuses the waiting jobs whose time is up. */
static void
ngx_http_restauth_jobs_timer_handler(ngx_event_t *ev)
{
    ngx_queue_t               *q;
    ngx_http_restauth_job_t   *job;
    ngx_http_restauth_jobs_t  *jobs = &ngx_http_restauth_jobs;

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, ev->log, 0,
                   "restauth jobs timer, running:%ui waiting:%ui",
                   jobs->running, jobs->nwaiting);

    while (jobs->nwaiting) {
        q = ngx_queue_head(&jobs->waiting);
        job = ngx_queue_data(q, ngx_http_restauth_job_t, queue);

        if ((ngx_msec_int_t) (job->deadline - ngx_current_msec) > 0) {
            break;
        }

        ngx_queue_remove(q);
        jobs->nwaiting--;

        ngx_log_error(NGX_LOG_WARN, job->ctx->request->connection->log, 0,
                      "restauth: job refused, it waited longer than "
                      "restauth_job_queue_timeout");

        /* resumes the request, which may post jobs: the queue is read
         * afresh each time round */
        ngx_http_restauth_job_refuse(job);
    }

    ngx_http_restauth_jobs_arm();
}


static void
ngx_http_restauth_job_handler(void *data, ngx_log_t *log)
{
    ngx_http_restauth_job_t  *job = data;

    ngx_log_debug0(NGX_LOG_DEBUG_CORE, log, 0, "restauth job run");

    restauth_call_run_job(job->call);
}


static void
ngx_http_restauth_job_done(ngx_event_t *ev)
{
    ngx_msec_t                 took;
    ngx_thread_task_t         *task;
    ngx_http_restauth_ctx_t   *ctx;
    ngx_http_restauth_job_t   *job;
    ngx_http_restauth_jobs_t  *jobs = &ngx_http_restauth_jobs;

    task = ev->data;
    job = task->ctx;
    ctx = job->ctx;

    took = ngx_current_msec - job->started;
    jobs->avg_ms = jobs->avg_ms ? (jobs->avg_ms * 7 + took) / 8 : took;
    jobs->running--;

    ngx_log_debug3(NGX_LOG_DEBUG_HTTP, ev->log, 0,
                   "restauth job done in %M ms, running:%ui waiting:%ui",
                   took, jobs->running, jobs->nwaiting);

    /* The waiting jobs first: a call that needs another job queues it
     * behind them. */
    ngx_http_restauth_jobs_start_waiting();

    if (ctx == NULL) {
        /* the request is gone; the call was left to us */
        ngx_log_debug0(NGX_LOG_DEBUG_HTTP, ngx_cycle->log, 0,
                       "restauth: job for a finished request completed");
        restauth_call_destroy(job->call);
        ngx_free(task);

    } else {
        ctx->job = NULL;
        ngx_free(task);

        ngx_http_restauth_api_resume(ctx);
    }

    ngx_http_restauth_jobs_arm();
}
