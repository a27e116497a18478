#include "parallel.h"

#include <pthread.h>
#include <unistd.h>

typedef struct {
    ParallelTask fn;
    void *ctx;
    int n_tasks, stride, first;
} Worker;

static void *work(void *arg) {
    const Worker *w = arg;
    for (int t = w->first; t < w->n_tasks; t += w->stride) w->fn(w->ctx, t);
    return NULL;
}

void parallel_for(int n_tasks, int threads, ParallelTask fn, void *ctx) {
    if (threads > n_tasks) threads = n_tasks;
    if (threads > PARALLEL_MAX_THREADS) threads = PARALLEL_MAX_THREADS;
    if (threads <= 1) {
        for (int t = 0; t < n_tasks; t++) fn(ctx, t);
        return;
    }
    pthread_t ids[PARALLEL_MAX_THREADS];
    Worker workers[PARALLEL_MAX_THREADS];
    int started = 0;
    for (int i = 1; i < threads; i++) {
        workers[i] = (Worker){fn, ctx, n_tasks, threads, i};
        if (pthread_create(&ids[i], NULL, work, &workers[i]) != 0) break;
        started = i;
    }
    // Any worker that could not start has its share done here instead.
    for (int i = started + 1; i < threads; i++) {
        workers[i] = (Worker){fn, ctx, n_tasks, threads, i};
        work(&workers[i]);
    }
    workers[0] = (Worker){fn, ctx, n_tasks, threads, 0};
    work(&workers[0]);
    for (int i = 1; i <= started; i++) pthread_join(ids[i], NULL);
}

int parallel_cpus(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > PARALLEL_MAX_THREADS ? PARALLEL_MAX_THREADS : (int)n;
}
