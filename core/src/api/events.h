/* Event plumbing: the one handler per server, the event object, dispatch. Internal.
 * The typed sfk_fire_on_X helpers (api/events_gen.h, generated) are what the core calls. */
#ifndef SFK_EVENTS_H
#define SFK_EVENTS_H

#include <stdint.h>

#include "sftpkit/sftpkit.h"

typedef enum { SFK_PT_BOOL = 0, SFK_PT_INT = 1, SFK_PT_STRING = 2 } sfk_param_type;

typedef struct {
    const char *name;
    sfk_param_type type;
    int byref;
} sfk_param_desc;

typedef struct {
    const char *name;
    const sfk_param_desc *params;
    int param_count;
} sfk_event_desc;

extern const sfk_event_desc sfk_events[SFTPKIT_EVENT_COUNT + 1]; /* [0] unused */

#define SFK_EVENT_MAX_PARAMS 8

typedef struct {
    int64_t i;
    const char *s; /* borrowed from the firing code, or `owned` once a handler set it */
    char *owned;
} sfk_event_value;

struct sftpkit_event {
    int id;
    sfk_event_value v[SFK_EVENT_MAX_PARAMS];
    char *status_message; /* sftpkit_event_set_status_message (api/status_message.c) */
};

void sfk_event_init(sftpkit_event *ev, int id);
void sfk_event_cleanup(sftpkit_event *ev);
/* Cheap test before building an event: is a handler installed and event_id subscribed?
 * event_id 0 asks whether any handler is installed at all. */
int sfk_event_wanted(sftpkit_server *s, int event_id);
/* Calls the handler (without any SDK lock held) inside a fresh per-request context frame
 * (api/context.h); 1 when it ran, 0 when there is none or the event is unsubscribed. */
int sfk_event_dispatch(sftpkit_server *s, sftpkit_event *ev);
/* Moves a handler-set string out of the event into *target (freeing the old one). */
void sfk_event_take_str(sftpkit_event *ev, int param, char **target);

/* Frees the handler at server teardown (calling destroy_user). */
void sfk_events_destroy(sftpkit_server *s);

#endif
