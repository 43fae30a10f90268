/* How much the SFTP loop asks ssh_channel_read_timeout for, so that libssh sends a
 * WINDOW_ADJUST only when it matters. Internal.
 *
 * libssh 0.10.6 grows the channel window (one WINDOW_ADJUST packet: a send and a getpid) whenever
 * the count asked for exceeds the buffered data plus the current window. Asking for the full
 * window on every read sent one adjust per ~30 KiB received (~35 000 per GiB uploaded). This
 * keeps a lower bound of "buffered + window": it is the full size right after a full ask and
 * shrinks only by what was read (arriving data moves from the window to the buffer; libssh's own
 * grows only add), so a count within it never makes libssh adjust. Once half the window is used
 * the next read asks for the full size again: one adjust per half window. */
#ifndef SFK_CHANNEL_WINDOW_H
#define SFK_CHANNEL_WINDOW_H

#include <stdint.h>

typedef struct {
    uint32_t full; /* the window wanted (the engine's read size) */
    uint32_t used; /* bytes read since the last full ask: full - used <= buffered + window */
    int asked_full;
} sfk_channel_window;

void sfk_channel_window_init(sfk_channel_window *w, uint32_t full);
/* The count for the next read: full once half the window is used (libssh then adjusts), else what
 * surely fits (libssh does not). */
uint32_t sfk_channel_window_count(sfk_channel_window *w);
/* After that read: n bytes returned (0 on a timeout; the adjust of a full ask was sent anyway). */
void sfk_channel_window_read(sfk_channel_window *w, uint32_t n);

#endif
