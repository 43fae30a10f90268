/* Growth of the writer's buffer (the only allocation on the reply path, and only until the
 * buffer has reached its working size). */
#include "sftp/wire.h"

#include <stdlib.h>

int sfk_buf_grow(sfk_buf *b, size_t n)
{
    if (b->oom)
        return -1;
    size_t need = b->len + n;
    if (need < b->len) { /* overflow */
        b->oom = 1;
        return -1;
    }
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) {
            b->oom = 1;
            return -1;
        }
        cap *= 2;
    }
    uint8_t *p = realloc(b->data, cap);
    if (!p) {
        b->oom = 1;
        return -1;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

void sfk_buf_free(sfk_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
    b->oom = 0;
}
