/* parallel.h: run n independent tasks on up to `threads` threads.
 *
 * Task i always does the same work whatever the thread count, and tasks
 * write disjoint outputs, so results are bitwise identical for any number of
 * threads. That is why the program splits its GEMMs itself instead of
 * letting OpenBLAS do it: OpenBLAS's own threading changes the summation
 * order with the thread count (measured with 0.3.21: up to 74% of AlexNet's
 * first-layer outputs differ in the last bits between 1 and 2 threads).
 * Threads take the next task as they free up, so uneven tasks, or a CPU
 * shared with another process, cost little. */
#ifndef GUIDEDBP_PARALLEL_H
#define GUIDEDBP_PARALLEL_H

enum { PARALLEL_MAX_THREADS = 256 };

typedef void (*ParallelTask)(void *ctx, int task);

/* Runs fn(ctx, 0) ... fn(ctx, n_tasks - 1). Falls back to the calling
 * thread alone if threads cannot be started, which changes nothing but time. */
void parallel_for(int n_tasks, int threads, ParallelTask fn, void *ctx);

/* The number of online CPUs, from 1 to PARALLEL_MAX_THREADS. */
int parallel_cpus(void);

#endif
