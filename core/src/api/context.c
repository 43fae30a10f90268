/* Per-request event context frames (see context.h for why they exist). */
#include "api/context.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "api/server.h"

/* The innermost frame of this thread (a handler's, or a prepared one), and the thread's base
 * frame used outside any handler. Both are touched by this thread only. */
static __thread sfk_evctx_frame *top;
static __thread sfk_evctx_frame base;

/* Frees a thread's base frame when the thread ends (connection threads come and go). */
static pthread_key_t base_key;
static pthread_once_t base_key_once = PTHREAD_ONCE_INIT;

static void free_values(sfk_value *values)
{
    if (!values)
        return;
    for (int p = 0; p < SFK_PROP_COUNT; p++)
        sfk_value_clear(&values[p]);
    free(values);
}

static void base_destructor(void *values)
{
    free_values(values);
}

static void make_base_key(void)
{
    pthread_key_create(&base_key, base_destructor);
}

int sfk_evctx_scoped(sfk_prop_id id)
{
    return id >= 0 && id < SFK_PROP_COUNT && sfk_props[id].per_context;
}

/* Every per-context slot at its default (strings never NULL, as elsewhere in props). */
static sfk_value *new_values(void)
{
    sfk_value *v = calloc(SFK_PROP_COUNT, sizeof *v);
    if (!v)
        return NULL;
    for (int p = 0; p < SFK_PROP_COUNT; p++) {
        if (!sfk_props[p].per_context)
            continue;
        v[p].i = sfk_props[p].default_i;
        if (sfk_props[p].type == SFK_T_STRING && sfk_value_set_str(&v[p], sfk_props[p].default_s)) {
            free_values(v);
            return NULL;
        }
    }
    return v;
}

static sfk_evctx_frame *frame_for(const sftpkit_server *s)
{
    for (sfk_evctx_frame *f = top; f; f = f->outer)
        if (f->server_serial == s->serial)
            return f;
    if (base.server_serial != s->serial) { /* one base snapshot per thread: the last server used */
        free_values(base.values);
        base.values = NULL;
        base.server_serial = s->serial;
        pthread_once(&base_key_once, make_base_key);
        pthread_setspecific(base_key, NULL);
    }
    return &base;
}

sfk_value *sfk_evctx_slot(const sftpkit_server *s, sfk_prop_id id)
{
    sfk_evctx_frame *f = frame_for(s);
    if (!f->values) {
        f->values = new_values();
        if (!f->values)
            return NULL;
        if (f == &base)
            pthread_setspecific(base_key, base.values);
    }
    return &f->values[id];
}

void sfk_evctx_push_prepared(const sftpkit_server *s, sfk_evctx_frame *f)
{
    memset(f, 0, sizeof *f);
    f->server_serial = s->serial;
    f->prepared = 1;
    f->outer = top;
    top = f;
}

int sfk_evctx_enter(const sftpkit_server *s, sfk_evctx_frame *f)
{
    if (top && top->prepared && top->server_serial == s->serial) {
        top->prepared = 0; /* handed to this dispatch; a nested one gets its own frame */
        return 0;
    }
    memset(f, 0, sizeof *f);
    f->server_serial = s->serial;
    f->outer = top;
    top = f;
    return 1;
}

void sfk_evctx_pop(sfk_evctx_frame *f)
{
    if (top == f)
        top = f->outer;
    free_values(f->values);
    f->values = NULL;
}
