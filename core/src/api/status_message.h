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

#endif
