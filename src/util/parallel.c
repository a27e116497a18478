#include "util/parallel.h"

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

typedef struct {
    ParallelTask fn;
    void *ctx;
    int n_tasks;
    atomic_int next;
} Work;

/* Each thread takes the next task not yet taken until none is left: which
 * thread runs a task changes nothing but time, and a thread slowed down (by
 * a bigger task or by another process on its CPU) simply takes fewer. */
static void *work(void *arg) {
    Work *w = arg;
    for (int t; (t = atomic_fetch_add_explicit(&w->next, 1, memory_order_relaxed)) < w->n_tasks;)
        w->fn(w->ctx, t);
    return NULL;
}

void parallel_for(int n_tasks, int threads, ParallelTask fn, void *ctx) {
    if (threads > n_tasks) threads = n_tasks;
    if (threads > PARALLEL_MAX_THREADS) threads = PARALLEL_MAX_THREADS;
    if (threads <= 1) {
        for (int t = 0; t < n_tasks; t++) fn(ctx, t);
        return;
    }
    Work w = {fn, ctx, n_tasks, 0};
    pthread_t ids[PARALLEL_MAX_THREADS];
    int started = 0;
    // A thread that cannot start leaves its share to the others.
    while (started < threads - 1 && pthread_create(&ids[started], NULL, work, &w) == 0) started++;
    work(&w);
    for (int i = 0; i < started; i++) pthread_join(ids[i], NULL);
}

int parallel_cpus(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > PARALLEL_MAX_THREADS ? PARALLEL_MAX_THREADS : (int)n;
}
