/* The text a handler gives the client with a failure status (sftpkit_event_set_status_message).
 * Internal. The message travels from the event to the reply through the thread that serves the
 * request: the handler runs on it, and the same thread writes the STATUS reply. */
#ifndef SFK_STATUS_MESSAGE_H
#define SFK_STATUS_MESSAGE_H

#include "sftpkit/sftpkit.h"

/* After a handler returned: its message (if any) becomes the thread's pending one. */
void sfk_status_message_adopt(sftpkit_event *ev);
/* The pending message, or NULL. Valid until the next call below on this thread. */
const char *sfk_status_message_pending(void);
/* Forgets the pending message: at each request's start and after each STATUS reply, so a message
 * never reaches another request's reply. */
void sfk_status_message_clear(void);
/* Takes the pending message off this thread (the caller frees it), or NULL: a handler that ran
 * on a worker thread leaves its text with its request, whose reply another thread writes. */
char *sfk_status_message_take(void);
/* Makes msg (owned, may be NULL) this thread's pending message, for the next STATUS reply. */
void sfk_status_message_give(char *msg);
/* A client-bound copy of message: at most SFK_STATUS_MESSAGE_MAX bytes, never splitting a UTF-8
 * sequence; NULL for NULL or "". *oom is set when the copy failed. */
char *sfk_status_message_copy(const char *message, int *oom);

#endif
