/* The `provider` behaviour (FORMAT.md) for C. C has no provider layer above the events: the
 * event API IS the provider layer, so the "provider" here is the events answered from the vfs
 * tree (events.c, crt_vfs_serve: the one copy of the file-system logic), plus what a binding's
 * provider layer adds on top: a "factory call" per session (the session's identity, recorded
 * in call order), a tree per session when per_session is true, and the `errors` rules. */
#include <stdlib.h>
#include <string.h>

#include "crt.h"

enum { MAX_SESSIONS = 64 }; /* a case opens a few connections; more is a runner bug */

/* members of "provider" beyond the tree (FORMAT.md, Behaviour provider) */
static const char *const provider_members[] = {"per_session", "errors", NULL};

typedef struct {
    int64_t conn;
    char *user, *address; /* from on_auth_succeeded / on_connect */
    int64_t port;
    int called;    /* the factory ran for this connection */
    crt_vfs *tree; /* per_session: its own copy of the initial tree */
} session;

struct crt_provider {
    const json *spec;
    int per_session;
    crt_vfs *shared; /* the shared tree; with per_session the initial tree nobody changes */
    session sessions[MAX_SESSIONS];
    size_t nsessions;
    size_t calls[MAX_SESSIONS]; /* factory calls in call order: indexes into sessions */
    size_t ncalls;
};

crt_provider *crt_provider_new(crt_case *cs, const json *spec, char **err)
{
    crt_provider *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->spec = spec;
    const json *ps = json_get(spec, "per_session");
    p->per_session = ps && ps->t == J_BOOL && ps->b;
    const json *errors = json_get(spec, "errors");
    if (errors && errors->t != J_ARR) {
        crt_fail(err, "provider.errors must be a list");
        return crt_provider_free(p), NULL;
    }
    if (!(p->shared = crt_vfs_new(cs, spec, provider_members, err)))
        return crt_provider_free(p), NULL;
    return p;
}

void crt_provider_free(crt_provider *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nsessions; i++) {
        free(p->sessions[i].user);
        free(p->sessions[i].address);
        crt_vfs_free(p->sessions[i].tree);
    }
    crt_vfs_free(p->shared);
    free(p);
}

static const char *param_str(const crt_record *r, const char *name)
{
    const crt_val *v = crt_param(r, name);
    return v && v->t == CRT_STR ? v->s : "";
}

static int64_t param_int(const crt_record *r, const char *name)
{
    const crt_val *v = crt_param(r, name);
    return v ? v->i : 0;
}

/* The session of conn (created on its first event); call with cs->lock held. */
static session *session_of(crt_provider *p, int64_t conn)
{
    for (size_t i = 0; i < p->nsessions; i++)
        if (p->sessions[i].conn == conn)
            return &p->sessions[i];
    if (p->nsessions == MAX_SESSIONS)
        return NULL;
    session *s = &p->sessions[p->nsessions++];
    memset(s, 0, sizeof *s);
    s->conn = conn;
    return s;
}

static void set_text(char **dst, const char *v)
{
    free(*dst);
    *dst = strdup(v);
}

/* The provider method an event stands for (FORMAT.md's names), or NULL for a non-file event.
 * REMOVE and RMDIR arrive as one event (on_remove): both names match it. */
static const char *method_of(int id)
{
    switch (id) {
    case SFTPKIT_EVENT_ON_OPEN_FILE:
        return "open";
    case SFTPKIT_EVENT_ON_READ_FILE:
        return "read";
    case SFTPKIT_EVENT_ON_WRITE_FILE:
        return "write";
    case SFTPKIT_EVENT_ON_CLOSE_FILE:
        return "close";
    case SFTPKIT_EVENT_ON_REQUEST_ATTRIBUTES:
        return "stat";
    case SFTPKIT_EVENT_ON_SET_ATTRIBUTES:
        return "setstat";
    case SFTPKIT_EVENT_ON_FIND_FIRST:
        return "list";
    case SFTPKIT_EVENT_ON_FIND_NEXT:
    case SFTPKIT_EVENT_ON_FIND_CLOSE:
        return ""; /* the rest of a listing: no method of its own, no rule applies */
    case SFTPKIT_EVENT_ON_CREATE_DIRECTORY:
        return "mkdir";
    case SFTPKIT_EVENT_ON_REMOVE:
        return "remove";
    case SFTPKIT_EVENT_ON_RENAME_FILE:
        return "rename";
    default:
        return NULL;
    }
}

static int op_matches(const char *rule_op, const char *method)
{
    return !strcmp(rule_op, method) || (!strcmp(method, "remove") && !strcmp(rule_op, "rmdir"));
}

/* The path a rule is matched against: the request's path, the open handle's path, or for a
 * rename the old path. malloc'd (NULL: none). */
static char *rule_path(crt_vfs *tree, int id, const crt_record *r)
{
    if (id == SFTPKIT_EVENT_ON_RENAME_FILE)
        return crt_vfs_norm(param_str(r, "old_path"));
    if (crt_param(r, "path") && *param_str(r, "path"))
        return crt_vfs_norm(param_str(r, "path"));
    return crt_param(r, "handle") ? crt_vfs_handle_path(tree, param_str(r, "handle")) : NULL;
}

/* The first `errors` rule for this method and path: *hit = its index + 1 (0: none). */
static int find_rule(crt_case *cs, const json *errors, const char *method, const char *path, size_t *hit, char **err)
{
    *hit = 0;
    for (size_t i = 0; errors && i < errors->count; i++) {
        const json *rule = errors->items[i];
        const char *op = json_str(rule, "op");
        if (!op)
            return crt_fail(err, "provider.errors[%zu] has no op", i);
        if (!op_matches(op, method))
            continue;
        const json *m = json_get(rule, "path");
        if (m) {
            if (!path)
                continue;
            crt_val pv;
            int ok = 0;
            crt_val_mem(&pv, CRT_STR, path, strlen(path));
            int rc = crt_match(cs, m, &pv, NULL, &ok, err);
            crt_val_free(&pv);
            if (rc < 0)
                return -1;
            if (!ok)
                continue;
        }
        *hit = i + 1;
        return 0;
    }
    return 0;
}

/* A rule's failure as a binding's provider error would give it: the status, and the message
 * through sftpkit_event_set_status_message. "crash" stands for an unexpected exception: C has
 * none, so it is a failure (0 -> SSH_FX_FAILURE) whose internal detail stays in the server,
 * as a binding keeps an exception's text out of the reply. */
static int apply_error(const json *rule, sftpkit_event *ev, char **err)
{
    const json *st = json_get(rule, "status");
    const char *msg = json_str(rule, "message");
    if (st && st->t == J_STR && !strcmp(st->s, "crash")) {
        msg = NULL; /* no detail reaches the client: a plain failure */
        st = NULL;
    } else if (!st || st->t != J_NUM) {
        return crt_fail(err, "provider.errors: status must be a number or \"crash\"");
    }
    if (sftpkit_event_set_int(ev, "operation_status", st ? (int64_t)st->n : 0) != 0)
        return crt_fail(err, "provider: set operation_status: %s", sftpkit_last_error_message());
    if (msg && sftpkit_event_set_status_message(ev, msg) != 0)
        return crt_fail(err, "provider: set_status_message: %s", sftpkit_last_error_message());
    return 0;
}

/* The same failure from an asynchronous read/write: the request completes later with the
 * rule's status and text (sftpkit_request_set_status_message). */
static int defer_error(crt_case *cs, crt_vfs *tree, int id, const crt_record *r, const json *rule, char **err)
{
    const json *st = json_get(rule, "status");
    int crash = st && st->t == J_STR && !strcmp(st->s, "crash");
    if (!crash && (!st || st->t != J_NUM))
        return crt_fail(err, "provider.errors: status must be a number or \"crash\"");
    return crt_vfs_defer_failure(cs, tree, id, r, crash ? 0 : (int)st->n, crash ? NULL : json_str(rule, "message"),
                                 err);
}

int crt_provider_event(crt_case *cs, int id, sftpkit_event *ev, const crt_record *r, char **err)
{
    crt_provider *p = cs->provider;
    int64_t conn = param_int(r, "connection_id");
    const char *method = method_of(id);
    if (id == SFTPKIT_EVENT_ON_CONNECT || id == SFTPKIT_EVENT_ON_AUTH_SUCCEEDED) {
        pthread_mutex_lock(&cs->lock);
        session *s = session_of(p, conn);
        if (s && id == SFTPKIT_EVENT_ON_CONNECT) {
            set_text(&s->address, param_str(r, "remote_address"));
            s->port = param_int(r, "remote_port");
        } else if (s) {
            set_text(&s->user, param_str(r, "username"));
        }
        pthread_mutex_unlock(&cs->lock);
        return s ? 0 : crt_fail(err, "provider: more than %d sessions", MAX_SESSIONS);
    }
    if (!method) /* on_before_* -> fraCustom; other events are not the provider's */
        return crt_vfs_serve(cs, p->shared, id, ev, r, err);

    /* the session's first file request: the "factory call" (as a binding's factory runs) */
    pthread_mutex_lock(&cs->lock);
    session *s = session_of(p, conn);
    if (s && !s->called) {
        s->called = 1;
        p->calls[p->ncalls++] = (size_t)(s - p->sessions);
        if (p->per_session && !(s->tree = crt_vfs_new(cs, p->spec, provider_members, err)))
            s = NULL;
    }
    crt_vfs *tree = s ? (p->per_session ? s->tree : p->shared) : NULL;
    pthread_mutex_unlock(&cs->lock);
    if (!tree)
        return crt_fail(err, "provider: no session state for connection %lld", (long long)conn);

    size_t hit = 0;
    const json *errors = json_get(p->spec, "errors");
    if (*method && errors) {
        char *path = rule_path(tree, id, r);
        int rc = find_rule(cs, errors, method, path, &hit, err);
        free(path);
        if (rc < 0)
            return -1;
    }
    if (hit && crt_vfs_deferred(tree) && (id == SFTPKIT_EVENT_ON_READ_FILE || id == SFTPKIT_EVENT_ON_WRITE_FILE))
        return defer_error(cs, tree, id, r, errors->items[hit - 1], err);
    if (hit)
        return apply_error(errors->items[hit - 1], ev, err);
    return crt_vfs_serve(cs, tree, id, ev, r, err);
}

static int match_field(crt_case *cs, const json *m, const crt_val *v, const char *field, size_t n, char **err)
{
    int ok = 0;
    if (crt_match(cs, m, v, NULL, &ok, err) < 0)
        return -1;
    return ok ? 0 : crt_fail(err, "provider_sessions[%zu].%s is %s", n, field, crt_val_show(v));
}

static int check_call(crt_case *cs, const json *want, const session *s, size_t n, char **err)
{
    for (size_t k = 0; k < want->count; k++) {
        const char *f = want->keys[k];
        crt_val v;
        if (!strcmp(f, "user") || !strcmp(f, "remote_address")) {
            const char *t = !strcmp(f, "user") ? s->user : s->address;
            crt_val_mem(&v, CRT_STR, t ? t : "", t ? strlen(t) : 0);
        } else if (!strcmp(f, "connection_id") || !strcmp(f, "remote_port")) {
            crt_val_int(&v, CRT_INT, !strcmp(f, "connection_id") ? s->conn : s->port);
        } else {
            return crt_fail(err, "provider_sessions[%zu]: unknown field %s", n, f);
        }
        int rc = match_field(cs, want->items[k], &v, f, n, err);
        crt_val_free(&v);
        if (rc < 0)
            return -1;
    }
    return 0;
}

int crt_provider_check(crt_case *cs, const json *expect, char **err)
{
    const json *tree = json_get(expect, "provider"), *calls = json_get(expect, "provider_sessions");
    crt_provider *p = cs->provider;
    if ((tree || calls) && !p)
        return crt_fail(err, "expect.provider without a provider behaviour");
    if (tree && crt_vfs_check(cs, p->shared, tree, err) < 0)
        return -1;
    if (!calls)
        return 0;
    if (calls->t != J_ARR)
        return crt_fail(err, "expect.provider_sessions must be a list");
    if (calls->count != p->ncalls)
        return crt_fail(err, "the factory was called %zu times, expected %zu", p->ncalls, calls->count);
    for (size_t i = 0; i < calls->count; i++)
        if (check_call(cs, calls->items[i], &p->sessions[p->calls[i]], i, err) < 0)
            return -1;
    return 0;
}
