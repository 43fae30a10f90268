#include "server/channel_window.h"

void sfk_channel_window_init(sfk_channel_window *w, uint32_t full)
{
    /* the channel starts with libssh's small initial window: the first read asks for the full one */
    *w = (sfk_channel_window){.full = full, .used = full, .asked_full = 0};
}

uint32_t sfk_channel_window_count(sfk_channel_window *w)
{
    w->asked_full = w->used >= w->full / 2;
    return w->asked_full ? w->full : w->full - w->used;
}

void sfk_channel_window_read(sfk_channel_window *w, uint32_t n)
{
    if (w->asked_full)
        w->used = 0; /* libssh topped buffered + window up to (at least) full before reading */
    w->used = n > w->full - w->used ? w->full : w->used + n;
    w->asked_full = 0;
}
