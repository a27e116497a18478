#include "util/budget.h"

int budget_init(Budget *b, size_t limit) {
    *b = (Budget){.limit = limit};
    if (pthread_mutex_init(&b->lock, NULL) != 0) return -1;
    if (pthread_cond_init(&b->freed, NULL) != 0) {
        pthread_mutex_destroy(&b->lock);
        return -1;
    }
    return 0;
}

void budget_free(Budget *b) {
    pthread_cond_destroy(&b->freed);
    pthread_mutex_destroy(&b->lock);
}

void budget_take(Budget *b, size_t *held, size_t bytes) {
    if (bytes == 0) return;
    pthread_mutex_lock(&b->lock);
    int grows = *held > 0;
    b->growing += grows;
    // Others that can give back: every holder but the waiting growers (and
    // this task, when it is one of them).
    while (b->used + bytes > b->limit && b->holders - b->growing > 0)
        pthread_cond_wait(&b->freed, &b->lock);
    b->growing -= grows;
    b->holders += !grows;
    b->used += bytes;
    *held += bytes;
    if (b->used > b->peak) b->peak = b->used;
    pthread_mutex_unlock(&b->lock);
}

void budget_give(Budget *b, size_t *held) {
    if (*held == 0) return;
    pthread_mutex_lock(&b->lock);
    b->used -= *held;
    b->holders--;
    *held = 0;
    pthread_cond_broadcast(&b->freed);
    pthread_mutex_unlock(&b->lock);
}
