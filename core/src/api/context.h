/* Per-request event context: where the properties that describe "the connection / request this
 * handler is about" live (key_*, client_file_entry_*, pinned_client_*; the spec marks them with
 * "per_context"). Internal.
 *
 * Why not server-wide storage: every connection runs on its own thread, so two handlers running
 * at once would read and overwrite each other's key, file entry or pinned snapshot (a login
 * accepted on another session's key, one session's listing in another's). Instead each thread
 * has a stack of context frames: sfk_event_dispatch pushes a fresh frame around every handler
 * call, so whatever a handler reads or writes through these properties belongs to the firing
 * request; outside any handler a thread uses its own base frame (pin_client from an application
 * thread fills that thread's snapshot). No frame is ever shared between threads, so no lock. */
#ifndef SFK_CONTEXT_H
#define SFK_CONTEXT_H

#include <stdint.h>

#include "api/props.h"

typedef struct sfk_evctx_frame {
    uint64_t server_serial; /* the server this frame belongs to (sftpkit_server.serial) */
    sfk_value *values;      /* SFK_PROP_COUNT slots, allocated on first use; per-context props only */
    int prepared;           /* pushed by firing code with values for the next dispatch to hand over */
    struct sfk_evctx_frame *outer;
} sfk_evctx_frame;

/* Is property id stored per context rather than server-wide? */
int sfk_evctx_scoped(sfk_prop_id id);

/* The calling thread's slot of id for server s (innermost frame of s, else the thread's base
 * frame), initialised to the property's default on first use; NULL only when out of memory. */
sfk_value *sfk_evctx_slot(const sftpkit_server *s, sfk_prop_id id);

/* Firing code that has values for the handler (the offered key) pushes a prepared frame, puts
 * the values (sfk_prop_put_*), fires, and pops. The next dispatch on this thread uses the
 * prepared frame instead of pushing its own. */
void sfk_evctx_push_prepared(const sftpkit_server *s, sfk_evctx_frame *f);

/* Dispatch: pushes a fresh frame unless a prepared one for s is on top (then takes it over and
 * returns 0); returns 1 when it pushed f (the caller pops it after the handler). */
int sfk_evctx_enter(const sftpkit_server *s, sfk_evctx_frame *f);

/* Pops f (must be the innermost frame) and frees its values. */
void sfk_evctx_pop(sfk_evctx_frame *f);

#endif
