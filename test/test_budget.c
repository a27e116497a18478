/* The shared memory budget (util/budget.h): takes within the limit run at
 * once, a take past it waits for a share to be given back, one task alone
 * always runs, and tasks that all wait to grow their shares do not
 * deadlock (alarm() ends a test that hangs). */
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "util/budget.h"
#include "test.h"

typedef struct {
    Budget *b;
    size_t first, more; // taken in two steps
    int together;       // both hold all they asked before either gives it back
    pthread_barrier_t *both;
} Task;

static void *two_steps(void *arg) {
    Task *t = arg;
    size_t held = 0;
    budget_take(t->b, &held, t->first);
    pthread_barrier_wait(t->both); // both hold their first share before growing
    budget_take(t->b, &held, t->more);
    if (t->together) pthread_barrier_wait(t->both);
    nanosleep(&(struct timespec){0, 10000000}, NULL); // the other may grow meanwhile
    budget_give(t->b, &held);
    return NULL;
}

static size_t run_pair(size_t limit, size_t first, size_t more, int together) {
    Budget b;
    CHECK(budget_init(&b, limit) == 0);
    pthread_barrier_t both;
    pthread_barrier_init(&both, NULL, 2);
    Task t = {&b, first, more, together, &both};
    pthread_t ids[2];
    for (int i = 0; i < 2; i++) pthread_create(&ids[i], NULL, two_steps, &t);
    for (int i = 0; i < 2; i++) pthread_join(ids[i], NULL);
    pthread_barrier_destroy(&both);
    CHECK_MSG(b.used == 0 && b.holders == 0 && b.growing == 0, "used %zu, %d holders, %d growing",
              b.used, b.holders, b.growing);
    size_t peak = b.peak;
    budget_free(&b);
    return peak;
}

static void test_within_limit_together(void) {
    CHECK(run_pair(100, 10, 40, 1) == 100); // both at once: 2 x 50
}

static void test_growers_do_not_deadlock(void) {
    // Each holds 10 and wants 100 more under a limit of 50: the last to
    // ask goes on alone, the other after it gives back.
    size_t peak = run_pair(50, 10, 100, 0);
    CHECK_MSG(peak == 120, "peak %zu, expected 110 + the other's 10", peak);
}

static void test_one_alone_runs(void) {
    Budget b;
    CHECK(budget_init(&b, 10) == 0);
    size_t held = 0;
    budget_take(&b, &held, 1000); // more than the limit, nothing else held
    CHECK(held == 1000 && b.used == 1000);
    budget_give(&b, &held);
    CHECK(held == 0 && b.used == 0);
    budget_free(&b);
}

int main(void) {
    alarm(60);
    RUN(test_within_limit_together);
    RUN(test_growers_do_not_deadlock);
    RUN(test_one_alone_runs);
    return test_summary();
}
