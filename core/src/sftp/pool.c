/* The worker pool: a mutex, a condition variable and a linked FIFO. Jobs are few (at most 64 in
 * flight per session) and long (a back-end call), so a simple queue is enough. */
#include "sftp/pool.h"

#include <pthread.h>
#include <stdlib.h>

typedef struct job {
    sfk_pool_fn fn;
    void *arg;
    struct job *next;
} job;

struct sfk_pool {
    pthread_mutex_t lock;
    pthread_cond_t work;
    job *head, *tail;
    int stopping;
    int threads;
    pthread_t *ids;
};

static void *worker(void *arg)
{
    sfk_pool *p = arg;
    pthread_mutex_lock(&p->lock);
    for (;;) {
        while (!p->head && !p->stopping)
            pthread_cond_wait(&p->work, &p->lock);
        job *j = p->head;
        if (!j)
            break; /* stopping and nothing left */
        p->head = j->next;
        if (!p->head)
            p->tail = NULL;
        pthread_mutex_unlock(&p->lock);
        j->fn(j->arg); /* no pool lock while user code runs */
        free(j);
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

sfk_pool *sfk_pool_new(int threads)
{
    if (threads < 1 || threads > 256)
        return NULL;
    sfk_pool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->ids = calloc((size_t)threads, sizeof *p->ids);
    if (!p->ids) {
        free(p);
        return NULL;
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 512 * 1024); /* handlers in managed runtimes need some room */
    for (int i = 0; i < threads; i++) {
        if (pthread_create(&p->ids[i], &attr, worker, p) != 0)
            break;
        p->threads++;
    }
    pthread_attr_destroy(&attr);
    if (!p->threads) {
        sfk_pool_free(p);
        return NULL;
    }
    return p;
}

int sfk_pool_push(sfk_pool *p, sfk_pool_fn fn, void *arg)
{
    job *j = malloc(sizeof *j);
    if (!j)
        return -1;
    j->fn = fn;
    j->arg = arg;
    j->next = NULL;
    pthread_mutex_lock(&p->lock);
    if (p->stopping) {
        pthread_mutex_unlock(&p->lock);
        free(j);
        return -1;
    }
    if (p->tail)
        p->tail->next = j;
    else
        p->head = j;
    p->tail = j;
    pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->lock);
    return 0;
}

void sfk_pool_free(sfk_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stopping = 1;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < p->threads; i++)
        pthread_join(p->ids[i], NULL);
    pthread_cond_destroy(&p->work);
    pthread_mutex_destroy(&p->lock);
    free(p->ids);
    free(p);
}
