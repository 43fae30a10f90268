/*
 * The C conformance runner (tests/conformance/FORMAT.md) — shared declarations.
 * Only the public sftpkit API is used; JSON is read by json.c (no dependency).
 */
#ifndef CRT_H
#define CRT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "json.h"
#include "sftpkit/sftpkit.h"

/* ---- values ------------------------------------------------------------------------------- */
typedef enum { CRT_NULL, CRT_BOOL, CRT_INT, CRT_STR, CRT_BYTES } crt_type;

typedef struct {
    crt_type t;
    int64_t i;  /* BOOL (0/1), INT */
    char *s;    /* STR (NUL-terminated), BYTES; malloc'd, owned */
    size_t len; /* STR, BYTES */
} crt_val;

void crt_val_free(crt_val *v);
int crt_val_copy(crt_val *dst, const crt_val *src);
void crt_val_int(crt_val *v, crt_type t, int64_t i);
/* Copies s (len bytes) into v as type t (CRT_STR or CRT_BYTES). */
int crt_val_mem(crt_val *v, crt_type t, const void *s, size_t len);
/* Takes a string the library returned (frees it with sftpkit_free). */
int crt_val_take_str(crt_val *v, char *s);
int crt_val_take_bytes(crt_val *v, uint8_t *p, size_t len);
int crt_val_equal(const crt_val *a, const crt_val *b);
/* Human-readable form for messages (static rotating buffers). */
const char *crt_val_show(const crt_val *v);

/* ---- the generated property table (props_gen.c) ------------------------------------------- */
enum { CRT_PROP_OK = 0, CRT_PROP_UNKNOWN = -1, CRT_PROP_INDEX = -2, CRT_PROP_READONLY = -3, CRT_PROP_TYPE = -4 };
/* *rc gets the API status when the return is CRT_PROP_OK. */
int crt_prop_get(sftpkit_server *s, const char *name, int has_index, int64_t index, crt_val *out, int *rc);
int crt_prop_set(sftpkit_server *s, const char *name, int has_index, int64_t index, const crt_val *v, int *rc);

/* ---- a case's state ----------------------------------------------------------------------- */
typedef struct {
    int id;
    int count;
    const char *names[16];
    crt_val vals[16];
    int done;
} crt_record;

typedef struct crt_vfs crt_vfs;
typedef struct crt_provider crt_provider;

typedef struct {
    const json *c;             /* the case */
    const char *conf_dir;      /* tests/conformance */
    const char *driver_python; /* /usr/bin/python3 */
    sftpkit_server *srv;
    char tmp[256];

    pthread_mutex_t lock; /* records, vars, failures, listing, once */
    pthread_cond_t cond;
    crt_record *records;
    size_t nrec, caprec;
    char **var_names;
    crt_val *var_vals;
    size_t nvars;
    char *handler_failure; /* first one */
    unsigned char once_done[256];

    sftpkit_key *keys[16];
    char *key_names[16];
    int nkeys;

    int bg_pids[32];
    int bg_out[32];
    int nbg;

    /* listing behaviour: handle -> next entry */
    char *listing_handles[32];
    int listing_next[32];
    int nlisting;

    crt_vfs *vfs;
    crt_provider *provider;
} crt_case;

/* Errors are reported as a malloc'd message through char **err (NULL: fine). */
int crt_fail(char **err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* values.c */
int crt_var_get(crt_case *cs, const char *name, crt_val *out);
void crt_var_set(crt_case *cs, const char *name, const crt_val *v);
int crt_resolve(crt_case *cs, const json *j, const crt_record *params, crt_val *out, char **err);
/* *ok = 1 when actual matches m. */
int crt_match(crt_case *cs, const json *m, const crt_val *actual, const crt_record *params, int *ok, char **err);
const crt_val *crt_param(const crt_record *r, const char *name);
/* external_signer.c: the external_signer behaviour for one on_external_sign event. */
int crt_external_sign(crt_case *cs, sftpkit_event *ev, const crt_record *r, char **err);

/* api.c: set/get/call/key steps */
int crt_api_step(crt_case *cs, const json *step, const crt_record *params, char **err);

/* events.c: recorder, rules, behaviours */
int crt_install_handler(crt_case *cs, char **err);
/* more_members: the caller's own members of spec besides the tree's (NULL-terminated, or NULL) */
crt_vfs *crt_vfs_new(crt_case *cs, const json *spec, const char *const *more_members, char **err);
void crt_vfs_free(crt_vfs *v);
int crt_vfs_check(crt_case *cs, crt_vfs *v, const json *want, char **err);
/* Deferred requests told of their cancellation while their back-end call was pending. */
int crt_vfs_cancelled(crt_vfs *v);
/* Whether v's read/write handlers defer ("deferred" or "async"). */
int crt_vfs_deferred(const crt_vfs *v);
/* Defers the firing read/write and fails it latency_ms later with status and message (NULL: the
 * standard text), as an asynchronous provider method that raises after its back-end answered. */
int crt_vfs_defer_failure(crt_case *cs, crt_vfs *v, int id, const crt_record *r, int status, const char *message,
                          char **err);
/* One event against tree v (on_before_* -> fraCustom; file events as the FORMAT's vfs table). */
int crt_vfs_serve(crt_case *cs, crt_vfs *v, int id, sftpkit_event *ev, const crt_record *r, char **err);
char *crt_vfs_handle_path(crt_vfs *v, const char *handle); /* malloc'd, NULL: unknown handle */
char *crt_vfs_norm(const char *path);                      /* malloc'd, FORMAT's normalization */

/* provider.c: the provider behaviour (the event API is C's provider layer) */
crt_provider *crt_provider_new(crt_case *cs, const json *spec, char **err);
void crt_provider_free(crt_provider *p);
int crt_provider_event(crt_case *cs, int id, sftpkit_event *ev, const crt_record *r, char **err);
int crt_provider_check(crt_case *cs, const json *expect, char **err);

/* client.c: the driver */
int crt_client_start(crt_case *cs, const json *script, int *pid, int *out_fd, char **err);
int crt_client_finish(int pid, int out_fd, char **err);

/* util */
char *crt_strdup(const char *s);
char *crt_path_join(const char *a, const char *b);
int crt_read_file(const char *path, char **data, size_t *len);
int crt_mkdirs(const char *path);
void crt_rmtree(const char *path);

#endif
