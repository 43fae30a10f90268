/* Parallel and deferred requests of one session (config WorkerThreads). Internal.
 *
 * READ and WRITE on handles the application serves (fraCustom) become "ops": the engine thread
 * parses them, queues them in arrival order and goes on with the next packet; the handler runs
 * on a pool thread (or inline on the engine thread with WorkerThreads=0) and may defer its
 * completion to any thread (sftpkit_server_defer_request). Ordering, decided here:
 *   - a WRITE starts once every earlier op on its handle is done; a READ once no earlier WRITE on
 *     its handle is pending (READs between WRITEs overlap);
 *   - replies on one handle leave in arrival order (paramiko waits forever for a WRITE reply
 *     that overtook another); ops on different handles may reply in any order;
 *   - any other request waits (the engine holds its input) until no op is in flight, so OPEN,
 *     CLOSE, STAT... never run beside a handler and never move the handle table under one.
 * Bounds: SFK_OPS_MAX ops and SFK_OPS_BYTES of their buffers per session; past that the engine
 * holds its input and the transport stops reading the channel.
 *
 * Threads: the op list and op states are guarded by e->ops_lock; only the engine thread adds
 * ops, removes them and writes replies. An op lives until its last reference goes (list, pool
 * job, token); an engine freed with ops still out (a handler that does not return, a token not
 * completed yet) is destroyed by the last one. */
#ifndef SFK_SFTP_PENDING_H
#define SFK_SFTP_PENDING_H

#include <stddef.h>
#include <stdint.h>

typedef struct sfk_engine sfk_engine;

#define SFK_OPS_MAX 64
#define SFK_OPS_BYTES (16u * 1024u * 1024u)
/* Op data buffers from SFK_OP_BUF_MIN to SFK_OP_BUF_SIZE bytes (bulk READ/WRITE) are allocated
 * at SFK_OP_BUF_SIZE and kept for the session's next ops (at most SFK_OPS_MAX, so within
 * SFK_OPS_BYTES), until it goes idle (sfk_pending_trim) or ends. */
#define SFK_OP_BUF_MIN (64u * 1024u)
#define SFK_OP_BUF_SIZE (256u * 1024u)
/* How long the end of a session waits for handlers still running (not deferred ones) before it
 * leaves them to finish on their own: stop() returns within about this. */
#define SFK_OPS_END_WAIT_MS 1000

enum { SFK_OFFER_NO = 0, SFK_OFFER_TAKEN, SFK_OFFER_FULL };

/* The engine thread offers each request packet (type first) before dispatching it:
 * SFK_OFFER_TAKEN: it became an op; SFK_OFFER_FULL: it would, but the session's bound is reached
 * (hold it); SFK_OFFER_NO: not an op, dispatch it normally (once no op is in flight). */
int sfk_pending_offer(sfk_engine *e, const uint8_t *pkt, uint32_t len);
/* Engine thread: writes the replies of finished ops (in order, while the output has room) and,
 * without a pool, runs the ops that may start. */
void sfk_pending_collect(sfk_engine *e);
/* Engine thread, the session idle: frees the kept op buffers when no op is in flight. */
void sfk_pending_trim(sfk_engine *e);
/* Ops in flight (engine thread). */
int sfk_pending_count(const sfk_engine *e);
/* Waits up to ms for an op to finish (returns at once when one already has, or none is out). */
void sfk_pending_wait(sfk_engine *e, int ms);
/* At the end of the session: cancels every op (queued ones never run; running and deferred ones
 * are told), waits up to SFK_OPS_END_WAIT_MS for running handlers. */
void sfk_pending_cancel_all(sfk_engine *e, int reason);
/* Detaches the remaining ops from the engine; returns 1 when the caller may destroy the engine
 * now, 0 when the last op will (sfk_engine_destroy). */
int sfk_pending_orphan(sfk_engine *e);
/* The engine's memory and locks (engine.c). */
void sfk_engine_destroy(sfk_engine *e);

/* The request context of the calling thread's running op when it belongs to e, else e's own
 * (the handler context of the request the engine thread is running). Called with e->ctx_lock. */
struct sfk_ctx_s;
struct sfk_ctx_s *sfk_pending_ctx(sfk_engine *e);

/* The server's pool (created on first use with the engine's WorkerThreads; NULL: none). */
struct sfk_pool *sfk_registry_pool(sfk_engine *e);

#endif
