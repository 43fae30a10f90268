/* Let libssh take in more of what already waits on the socket before the SFTP loop reads the
 * channel, so a bulk upload reaches the engine (and pwrite) in pieces of about `target` bytes
 * instead of one 32 KiB packet each. Internal.
 *
 * libssh 0.10.6 reads the socket 4 KiB per recv, one poll each, whichever function drives it, so
 * this costs no extra system calls while data is waiting: each ssh_event_dopoll(ev, 0) is the
 * poll + recv that the channel read would have made itself. It stops at the first poll that
 * finds nothing (timeout 0, so it never waits) and after a bounded number of rounds. */
#ifndef SFK_CHANNEL_GATHER_H
#define SFK_CHANNEL_GATHER_H

#include <libssh/libssh.h>

/* ev must hold the channel's session. Returns the bytes buffered on the channel (< 0 on error). */
int sfk_channel_gather(ssh_event ev, ssh_channel channel, int target);

#endif
