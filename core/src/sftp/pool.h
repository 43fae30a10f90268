/* The server's worker threads for parallel requests (config WorkerThreads). Internal.
 *
 * A plain FIFO of jobs shared by every session of one server: sessions do not own threads, so
 * 2000 idle sessions cost nothing, and one session with 64 slow READs in flight uses as many
 * threads as the pool has. The threads start with the first job and end when the server is
 * freed. Which job may run when (per-handle order) is decided by sftp/pending.c before a job is
 * queued here. */
#ifndef SFK_SFTP_POOL_H
#define SFK_SFTP_POOL_H

typedef struct sfk_pool sfk_pool;

typedef void (*sfk_pool_fn)(void *arg);

/* A pool of `threads` threads (1..256); NULL on failure (no memory or no thread could start). */
sfk_pool *sfk_pool_new(int threads);
/* Queues fn(arg). 0, or -1 when the pool is shutting down (the job is not run). Never blocks on
 * a running job: callable with an engine lock held. */
int sfk_pool_push(sfk_pool *p, sfk_pool_fn fn, void *arg);
/* Lets queued jobs finish, then joins the threads and frees the pool. Must not be called from a
 * pool thread. */
void sfk_pool_free(sfk_pool *p);

#endif
