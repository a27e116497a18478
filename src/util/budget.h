/* budget.h: memory that tasks on several threads share, taken before a
 * big allocation and given back after it is freed.
 *
 *     Budget b;
 *     if (budget_init(&b, 1 << 30) != 0) ...;
 *     size_t held = 0;                 // one per task
 *     budget_take(&b, &held, bytes);   // waits for room; may take more later
 *     ...
 *     budget_give(&b, &held);          // all of it
 *     budget_free(&b);
 *
 * A take waits while it would pass the limit and some other task that is
 * not itself waiting holds a share (it will give it back). So one task
 * alone always runs, whatever it asks (a budget smaller than one image
 * makes images decode one at a time, it never refuses one), and tasks that
 * all wait to grow their shares cannot deadlock: the last of them goes on.
 * The most held at once is the limit, or one task's whole share plus what
 * the tasks waiting to grow held before they asked.
 */
#ifndef GUIDEDBP_BUDGET_H
#define GUIDEDBP_BUDGET_H

#include <pthread.h>
#include <stddef.h>

typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t freed;
    size_t limit, used;
    int holders; // tasks holding a share
    int growing; // of them, those waiting to take more
    size_t peak; // the most ever held at once
} Budget;

/* 0, or -1 when the lock cannot be made. */
int budget_init(Budget *b, size_t limit);
void budget_free(Budget *b);
/* Adds bytes to the share *held (0: the task holds none yet), after
 * waiting as above. */
void budget_take(Budget *b, size_t *held, size_t bytes);
/* Gives back the whole share *held, which becomes 0. */
void budget_give(Budget *b, size_t *held);

#endif
