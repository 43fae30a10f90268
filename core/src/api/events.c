/* The single event handler per server and the parameter accessors handlers use. */
#include "api/events.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "api/context.h"
#include "api/errors.h"
#include "api/server.h"
#include "api/status_message.h"
#include "util/metrics.h"

/* A handler registration is reference-counted: dispatch holds a reference while user code runs
 * (without the server lock), so replacing the handler mid-call never frees user data under the
 * running call; destroy_user runs when the last reference goes. */
struct sfk_handler {
    sftpkit_event_handler fn;
    void *user;
    void (*destroy_user)(void *);
    atomic_int refs;
};

static void handler_release(struct sfk_handler *h)
{
    if (h && atomic_fetch_sub(&h->refs, 1) == 1) {
        if (h->destroy_user)
            h->destroy_user(h->user);
        free(h);
    }
}

SFTPKIT_API int sftpkit_server_set_event_handler(sftpkit_server *s, sftpkit_event_handler fn, void *user,
                                                 void (*destroy_user)(void *))
{
    if (!s)
        return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "set_event_handler: NULL server");
    struct sfk_handler *h = NULL;
    if (fn) {
        h = calloc(1, sizeof *h);
        if (!h)
            return sfk_error(SFTPKIT_ERROR_OUT_OF_MEMORY, "out of memory");
        h->fn = fn;
        h->user = user;
        h->destroy_user = destroy_user;
        atomic_init(&h->refs, 1);
    } else if (destroy_user) {
        destroy_user(user); /* nothing will hold it */
    }
    sfk_lock(s);
    struct sfk_handler *old = s->handler;
    s->handler = h;
    sfk_unlock(s);
    handler_release(old);
    return sfk_ok();
}

void sfk_events_destroy(sftpkit_server *s)
{
    sfk_lock(s);
    struct sfk_handler *old = s->handler;
    s->handler = NULL;
    sfk_unlock(s);
    handler_release(old);
}

void sfk_event_init(sftpkit_event *ev, int id)
{
    memset(ev, 0, sizeof *ev);
    ev->id = id;
}

void sfk_event_cleanup(sftpkit_event *ev)
{
    for (int i = 0; i < SFK_EVENT_MAX_PARAMS; i++)
        free(ev->v[i].owned);
    free(ev->status_message);
    ev->status_message = NULL;
}

static int subscribed(const sftpkit_server *s, int event_id)
{
    return event_id < 1 || event_id > SFTPKIT_EVENT_COUNT || !atomic_load(&s->unsubscribed[event_id]);
}

SFTPKIT_API int sftpkit_server_set_event_subscribed(sftpkit_server *s, int event_id, int on)
{
    if (!s)
        return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "set_event_subscribed: NULL server");
    if (event_id < 1 || event_id > SFTPKIT_EVENT_COUNT)
        return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "set_event_subscribed: event id %d is outside 1..%d",
                         event_id, SFTPKIT_EVENT_COUNT);
    atomic_store(&s->unsubscribed[event_id], on ? 0 : 1);
    return sfk_ok();
}

SFTPKIT_API int sftpkit_server_get_event_subscribed(const sftpkit_server *s, int event_id, int *out)
{
    if (!s || !out)
        return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "get_event_subscribed: NULL %s", s ? "out" : "server");
    if (event_id < 1 || event_id > SFTPKIT_EVENT_COUNT)
        return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "get_event_subscribed: event id %d is outside 1..%d",
                         event_id, SFTPKIT_EVENT_COUNT);
    *out = subscribed(s, event_id);
    return sfk_ok();
}

int sfk_event_wanted(sftpkit_server *s, int event_id)
{
    if (!s || !subscribed(s, event_id))
        return 0;
    sfk_lock(s);
    int wanted = s->handler != NULL;
    sfk_unlock(s);
    return wanted;
}

int sfk_event_dispatch(sftpkit_server *s, sftpkit_event *ev)
{
    if (!s || !subscribed(s, ev->id))
        return 0;
    sfk_lock(s);
    struct sfk_handler *h = s->handler;
    if (h)
        atomic_fetch_add(&h->refs, 1);
    sfk_unlock(s);
    if (!h)
        return 0;
    /* String parameters are the handler's for its whole call, whatever it calls meanwhile (the
     * firing code may pass pointers into buffers a nested API call would overwrite, such as the
     * thread's last-error message behind on_error's description). */
    const sfk_event_desc *d = &sfk_events[ev->id];
    for (int i = 0; i < d->param_count; i++) {
        if (d->params[i].type == SFK_PT_STRING && !d->params[i].byref && ev->v[i].s && !ev->v[i].owned) {
            ev->v[i].owned = strdup(ev->v[i].s);
            if (ev->v[i].owned)
                ev->v[i].s = ev->v[i].owned;
        }
    }
    sfk_evctx_frame frame;
    int pushed = sfk_evctx_enter(s, &frame);
    int64_t started = sfk_metrics_now_us();
    h->fn(h->user, s, ev->id, ev);
    sfk_status_message_adopt(ev); /* the text for this request's status reply, if it set one */
    sfk_metrics_handler(s, sfk_metrics_now_us() - started);
    if (pushed)
        sfk_evctx_pop(&frame);
    handler_release(h);
    return 1;
}

void sfk_event_take_str(sftpkit_event *ev, int param, char **target)
{
    if (!ev->v[param].owned)
        return;
    free(*target);
    *target = ev->v[param].owned;
    ev->v[param].owned = NULL;
}

/* ---- public: ids, names, parameters ---------------------------------------------------------- */

static const sfk_event_desc *event_desc(int id)
{
    return id >= 1 && id <= SFTPKIT_EVENT_COUNT ? &sfk_events[id] : NULL;
}

SFTPKIT_API int sftpkit_event_id(const char *name)
{
    if (name)
        for (int id = 1; id <= SFTPKIT_EVENT_COUNT; id++)
            if (!strcmp(sfk_events[id].name, name))
                return id;
    return -1;
}

SFTPKIT_API const char *sftpkit_event_name(int event_id)
{
    const sfk_event_desc *d = event_desc(event_id);
    return d ? d->name : NULL;
}

SFTPKIT_API int sftpkit_event_param_count(int event_id)
{
    const sfk_event_desc *d = event_desc(event_id);
    if (!d)
        return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "event id %d is unknown", event_id), -1;
    sfk_ok();
    return d->param_count;
}

SFTPKIT_API int sftpkit_event_param_info(int event_id, int index, const char **name, int *type, int *byref)
{
    const sfk_event_desc *d = event_desc(event_id);
    if (!d)
        return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "event id %d is unknown", event_id);
    if (index < 0 || index >= d->param_count)
        return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "%s: parameter index %d is outside 0..%d", d->name, index,
                         d->param_count - 1);
    if (name)
        *name = d->params[index].name;
    if (type)
        *type = d->params[index].type;
    if (byref)
        *byref = d->params[index].byref;
    return sfk_ok();
}

/* Finds param by name in ev's event, checking the kind of access; returns its index or -1 after
 * recording the error. */
static int find_param(const sftpkit_event *ev, const char *param, int want_string, int for_write)
{
    if (!ev || !param)
        return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "event parameter access: NULL %s", ev ? "name" : "event"), -1;
    const sfk_event_desc *d = event_desc(ev->id);
    if (!d)
        return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "event id %d is unknown", ev->id), -1;
    for (int i = 0; i < d->param_count; i++) {
        if (strcmp(d->params[i].name, param))
            continue;
        int is_string = d->params[i].type == SFK_PT_STRING;
        if (is_string != want_string)
            return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "%s.%s is %s; use sftpkit_event_%s_%s", d->name, param,
                             is_string ? "a string" : "an integer/bool", for_write ? "set" : "get",
                             is_string ? "str" : "int"),
                   -1;
        if (for_write && !d->params[i].byref)
            return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "%s.%s is not a by-ref parameter and cannot be set",
                             d->name, param),
                   -1;
        return i;
    }
    return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "%s has no parameter \"%s\"", d->name, param), -1;
}

SFTPKIT_API int sftpkit_event_get_int(const sftpkit_event *ev, const char *param, int64_t *out)
{
    int i = find_param(ev, param, 0, 0);
    if (i < 0)
        return SFTPKIT_ERROR_INVALID_PARAMETER;
    if (!out)
        return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "%s: NULL out", param);
    *out = ev->v[i].i;
    return sfk_ok();
}

SFTPKIT_API int sftpkit_event_get_str(const sftpkit_event *ev, const char *param, char **out)
{
    int i = find_param(ev, param, 1, 0);
    if (i < 0)
        return SFTPKIT_ERROR_INVALID_PARAMETER;
    if (!out)
        return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "%s: NULL out", param);
    char *copy = sfk_strdup(ev->v[i].s);
    if (!copy)
        return SFTPKIT_ERROR_OUT_OF_MEMORY;
    *out = copy;
    return sfk_ok();
}

SFTPKIT_API int sftpkit_event_set_int(sftpkit_event *ev, const char *param, int64_t v)
{
    int i = find_param(ev, param, 0, 1);
    if (i < 0)
        return SFTPKIT_ERROR_INVALID_PARAMETER;
    const sfk_event_desc *d = event_desc(ev->id);
    ev->v[i].i = d->params[i].type == SFK_PT_BOOL ? (v != 0) : v;
    return sfk_ok();
}

SFTPKIT_API int sftpkit_event_set_str(sftpkit_event *ev, const char *param, const char *v)
{
    int i = find_param(ev, param, 1, 1);
    if (i < 0)
        return SFTPKIT_ERROR_INVALID_PARAMETER;
    char *copy = sfk_strdup(v);
    if (!copy)
        return SFTPKIT_ERROR_OUT_OF_MEMORY;
    free(ev->v[i].owned);
    ev->v[i].owned = copy;
    ev->v[i].s = copy;
    return sfk_ok();
}
