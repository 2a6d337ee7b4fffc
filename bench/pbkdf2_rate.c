/*
 * pbkdf2_rate: the machine's raw PBKDF2-HMAC-SHA256 rate, the yardstick for
 * login throughput.  Runs THREADS threads, each hashing back to back with
 * the call the module makes (OpenSSL PKCS5_PBKDF2_HMAC, EVP_sha256, 32-byte
 * key, 22-character salt) for SECONDS seconds, and prints the total rate in
 * hashes per second.
 *
 * Each thread's rate is (completed - 1) / (end of last - end of first): the
 * first hash is warm-up, and a hash cut off by the deadline counts neither
 * as work nor as time.  bench/run estimates login throughput the same way
 * (per connection, from nginx's access log), so the two compare like with
 * like.
 *
 * usage: pbkdf2_rate ITERATIONS THREADS SECONDS
 * build: cc -O2 -pthread pbkdf2_rate.c -o pbkdf2_rate -lcrypto
 */
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int iterations;
static double seconds;

struct worker {
    pthread_t tid;
    long done;
    double first, last;
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *run(void *arg)
{
    struct worker *w = arg;
    static const char password[] = "Bench-Password-2024";
    static const char salt[] = "abcdefghijklmnopqrstuv";   /* 22 chars, as the module's */
    unsigned char out[32];
    double deadline = now() + seconds;

    for (;;) {
        if (PKCS5_PBKDF2_HMAC(password, (int) strlen(password),
                              (const unsigned char *) salt, (int) strlen(salt),
                              iterations, EVP_sha256(), sizeof out, out) != 1) {
            fprintf(stderr, "PKCS5_PBKDF2_HMAC failed\n");
            exit(1);
        }
        double t = now();
        if (w->done == 0) w->first = t;
        w->last = t;
        w->done++;
        if (t >= deadline) break;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s ITERATIONS THREADS SECONDS\n", argv[0]);
        return 2;
    }
    iterations = atoi(argv[1]);
    int threads = atoi(argv[2]);
    seconds = atof(argv[3]);
    if (iterations < 1 || threads < 1 || seconds <= 0) {
        fprintf(stderr, "bad arguments\n");
        return 2;
    }
    struct worker *w = calloc(threads, sizeof *w);
    for (int i = 0; i < threads; i++) pthread_create(&w[i].tid, NULL, run, &w[i]);
    double rate = 0;
    long total = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(w[i].tid, NULL);
        total += w[i].done;
        if (w[i].done < 2 || w[i].last <= w[i].first) {
            fprintf(stderr, "thread %d finished fewer than 2 hashes; raise SECONDS\n", i);
            return 1;
        }
        rate += (w[i].done - 1) / (w[i].last - w[i].first);
    }
    printf("%.3f %ld\n", rate, total);
    return 0;
}
