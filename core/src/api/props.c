/* Table-driven property storage: one generic getter and setter per type, validation from the
 * generated sfk_props table, lists sized by their _count property. */
#include "api/props.h"

#include "api/hooks.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/context.h"
#include "api/errors.h"
#include "api/server.h"
#include "ssh/algorithms.h"

/* Column of each list property within its list's rows; computed once from the table. */
static int list_column[SFK_PROP_COUNT];
static int list_columns[SFK_LIST_COUNT];
static pthread_once_t columns_once = PTHREAD_ONCE_INIT;

static void compute_columns(void)
{
    for (int p = 0; p < SFK_PROP_COUNT; p++) {
        sfk_list_id l = sfk_props[p].list;
        list_column[p] = l == SFK_LIST_NONE ? -1 : list_columns[l]++;
    }
}

void sfk_value_clear(sfk_value *v)
{
    free(v->s);
    free(v->b);
    memset(v, 0, sizeof *v);
}

int sfk_value_set_str(sfk_value *v, const char *text)
{
    char *copy = sfk_strdup(text);
    if (!copy)
        return SFTPKIT_ERROR_OUT_OF_MEMORY;
    free(v->s);
    v->s = copy;
    return 0;
}

int sfk_value_set_bytes(sfk_value *v, const uint8_t *data, size_t len)
{
    uint8_t *copy = NULL;
    if (len) {
        copy = malloc(len);
        if (!copy)
            return sfk_error(SFTPKIT_ERROR_OUT_OF_MEMORY, "out of memory");
        memcpy(copy, data, len);
    }
    free(v->b);
    v->b = copy;
    v->n = len;
    return 0;
}

static int value_default(sfk_value *v, const sfk_prop_desc *d)
{
    memset(v, 0, sizeof *v);
    v->i = d->default_i;
    if (d->type == SFK_T_STRING)
        return sfk_value_set_str(v, d->default_s);
    return 0;
}

int sfk_props_init(sftpkit_server *s)
{
    pthread_once(&columns_once, compute_columns);
    for (int p = 0; p < SFK_PROP_COUNT; p++) {
        if (sfk_props[p].list == SFK_LIST_NONE && value_default(&s->values[p], &sfk_props[p]))
            return SFTPKIT_ERROR_OUT_OF_MEMORY;
    }
    return 0;
}

static void free_rows(sfk_value *rows, int64_t from, int64_t to, int cols)
{
    for (int64_t r = from; r < to; r++)
        for (int c = 0; c < cols; c++)
            sfk_value_clear(&rows[r * cols + c]);
}

void sfk_props_destroy(sftpkit_server *s)
{
    for (int p = 0; p < SFK_PROP_COUNT; p++)
        sfk_value_clear(&s->values[p]);
    for (int l = 0; l < SFK_LIST_COUNT; l++) {
        free_rows(s->lists[l].rows, 0, s->lists[l].count, list_columns[l]);
        free(s->lists[l].rows);
        s->lists[l].rows = NULL;
        s->lists[l].count = 0;
    }
}

/* Resizes a list to n rows: new rows take every column's default, dropped rows are freed. */
static int resize_list(sftpkit_server *s, sfk_list_id l, int64_t n)
{
    sfk_list_store *ls = &s->lists[l];
    int cols = list_columns[l];
    if (n < ls->count) {
        free_rows(ls->rows, n, ls->count, cols);
        ls->count = n;
        return 0;
    }
    if (n == ls->count)
        return 0;
    sfk_value *rows = realloc(ls->rows, (size_t)n * (size_t)cols * sizeof *rows);
    if (!rows)
        return sfk_error(SFTPKIT_ERROR_OUT_OF_MEMORY, "out of memory growing the %s list", sfk_lists[l].item);
    for (int64_t r = ls->count; r < n; r++) {
        for (int p = 0; p < SFK_PROP_COUNT; p++) {
            if (sfk_props[p].list != l)
                continue;
            if (value_default(&rows[r * cols + list_column[p]], &sfk_props[p])) {
                ls->rows = rows;
                free_rows(rows, ls->count, r + 1, cols);
                return SFTPKIT_ERROR_OUT_OF_MEMORY;
            }
            if (sfk_props[p].assigned) /* each object has its own handle (api/user_handle.c) */
                rows[r * cols + list_column[p]].i = sfk_next_object_handle();
        }
    }
    ls->rows = rows;
    ls->count = n;
    return 0;
}

sfk_value *sfk_value_slot(sftpkit_server *s, sfk_prop_id id, int64_t index)
{
    const sfk_prop_desc *d = &sfk_props[id];
    if (d->per_context)
        return sfk_evctx_slot(s, id);
    if (d->list == SFK_LIST_NONE)
        return &s->values[id];
    sfk_list_store *ls = &s->lists[d->list];
    if (index < 0 || index >= ls->count)
        return NULL;
    return &ls->rows[index * list_columns[d->list] + list_column[id]];
}

/* The common preamble of every public accessor: a server, a known property of the right type,
 * and for lists an index inside the count. Called with the lock held; returns the slot. */
static int locate(const sftpkit_server *s, sfk_prop_id id, int64_t index, sfk_type type, sfk_value **slot)
{
    const sfk_prop_desc *d = &sfk_props[id];
    if (d->type != type)
        return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "%s: wrong value type", d->name);
    *slot = sfk_value_slot((sftpkit_server *)s, id, index);
    if (!*slot) {
        const sfk_list_desc *l = &sfk_lists[d->list];
        return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "%s: index %" PRId64 " is outside 0..%" PRId64 " (%s count)",
                         d->name, index, s->lists[d->list].count - 1, l->item);
    }
    return 0;
}

#define GET_PROLOGUE(TYPE)                                                                                             \
    if (!s || !out)                                                                                                    \
        return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "%s: NULL %s", sfk_props[id].name, s ? "out" : "server");    \
    sfk_value *slot;                                                                                                   \
    sfk_lock(s);                                                                                                       \
    int rc = locate(s, id, index, TYPE, &slot);                                                                        \
    if (rc) {                                                                                                          \
        sfk_unlock(s);                                                                                                 \
        return rc;                                                                                                     \
    }

int sfk_get_bool(const sftpkit_server *s, sfk_prop_id id, int64_t index, int *out)
{
    GET_PROLOGUE(SFK_T_BOOL)
    *out = slot->i != 0;
    sfk_unlock(s);
    return sfk_ok();
}

int sfk_get_int(const sftpkit_server *s, sfk_prop_id id, int64_t index, int64_t *out)
{
    GET_PROLOGUE(SFK_T_INT)
    *out = slot->i;
    sfk_unlock(s);
    return sfk_ok();
}

int sfk_get_string(const sftpkit_server *s, sfk_prop_id id, int64_t index, char **out)
{
    GET_PROLOGUE(SFK_T_STRING)
    char *copy = sfk_strdup(slot->s);
    sfk_unlock(s);
    if (!copy)
        return SFTPKIT_ERROR_OUT_OF_MEMORY;
    *out = copy;
    return sfk_ok();
}

int sfk_get_bytes(const sftpkit_server *s, sfk_prop_id id, int64_t index, uint8_t **out, size_t *len)
{
    if (!len)
        return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "%s: NULL len", sfk_props[id].name);
    GET_PROLOGUE(SFK_T_BYTES)
    /* Always a real allocation (even for empty) so callers can free unconditionally. */
    uint8_t *copy = malloc(slot->n ? slot->n : 1);
    if (copy && slot->n)
        memcpy(copy, slot->b, slot->n);
    size_t n = slot->n;
    sfk_unlock(s);
    if (!copy)
        return sfk_error(SFTPKIT_ERROR_OUT_OF_MEMORY, "out of memory");
    *out = copy;
    *len = n;
    return sfk_ok();
}

/* Everything a setter checks before it may store: writable, not frozen while active, index. */
static int set_prologue(sftpkit_server *s, sfk_prop_id id, int64_t index, sfk_type type, sfk_value **slot)
{
    const sfk_prop_desc *d = &sfk_props[id];
    if (d->readonly)
        return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "%s is read-only", d->name);
    if (d->frozen_when_active && s->values[SFK_P_ACTIVE].i)
        return sfk_error(SFTPKIT_ERROR_INVALID_STATE, "%s cannot change while the server is active; stop it first",
                         d->name);
    return locate(s, id, index, type, slot);
}

static int validate_int(sftpkit_server *s, const sfk_prop_desc *d, sfk_prop_id id, int64_t v)
{
    if (d->validation == SFK_V_RANGE && (v < d->min || v > d->max))
        return sfk_error(SFTPKIT_ERROR_INVALID_VALUE, "%s: %" PRId64 " is outside %" PRId64 "..%" PRId64, d->name, v,
                         d->min, d->max);
    if (d->validation == SFK_V_FLAGS && (v < 0 || (v & ~d->max)))
        return sfk_error(SFTPKIT_ERROR_INVALID_VALUE, "%s: %" PRId64 " has unknown bits (known: 0x%" PRIx64 ")",
                         d->name, v, d->max);
    return d->check ? d->check(s, id, v) : 0;
}

int sfk_set_int(sftpkit_server *s, sfk_prop_id id, int64_t index, int64_t v)
{
    if (!s)
        return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "%s: NULL server", sfk_props[id].name);
    const sfk_prop_desc *d = &sfk_props[id];
    sfk_value *slot;
    sfk_lock(s);
    int rc = set_prologue(s, id, index, d->type == SFK_T_BOOL ? SFK_T_BOOL : SFK_T_INT, &slot);
    if (!rc)
        rc = validate_int(s, d, id, v);
    if (!rc && d->is_count) {
        for (int l = 0; l < SFK_LIST_COUNT; l++)
            if (sfk_lists[l].count_prop == id)
                rc = resize_list(s, (sfk_list_id)l, v);
    }
    if (!rc && d->hook)
        rc = d->hook(s, index, v);
    else if (!rc)
        slot->i = v;
    sfk_unlock(s);
    return rc ? rc : sfk_ok();
}

int sfk_set_bool(sftpkit_server *s, sfk_prop_id id, int64_t index, int v)
{
    return sfk_set_int(s, id, index, v != 0);
}

static int validate_string(const sfk_prop_desc *d, const char *v, char **normalized)
{
    *normalized = NULL;
    if (d->validation == SFK_V_CHOICE) {
        for (const char *const *c = d->choices; *c; c++)
            if (!strcasecmp(*c, v)) {
                *normalized = sfk_strdup(*c);
                return *normalized ? 0 : SFTPKIT_ERROR_OUT_OF_MEMORY;
            }
        return sfk_error(SFTPKIT_ERROR_INVALID_VALUE, "%s: \"%s\" is not one of the supported values", d->name, v);
    }
    if (d->validation == SFK_V_ALGORITHMS) {
        char *message = NULL;
        if (sfk_algorithms_check(d->algorithm_kind, v, &message)) {
            int rc = sfk_error(SFTPKIT_ERROR_INVALID_VALUE, "%s: %s", d->name, message ? message : "invalid list");
            free(message);
            return rc;
        }
    }
    return 0;
}

int sfk_set_string(sftpkit_server *s, sfk_prop_id id, int64_t index, const char *v)
{
    if (!s || !v)
        return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "%s: NULL %s", sfk_props[id].name, s ? "value" : "server");
    char *normalized;
    int rc = validate_string(&sfk_props[id], v, &normalized);
    if (rc)
        return rc;
    sfk_value *slot;
    sfk_lock(s);
    rc = set_prologue(s, id, index, SFK_T_STRING, &slot);
    if (!rc)
        rc = sfk_value_set_str(slot, normalized ? normalized : v);
    sfk_unlock(s);
    free(normalized);
    return rc ? rc : sfk_ok();
}

int sfk_set_bytes(sftpkit_server *s, sfk_prop_id id, int64_t index, const uint8_t *v, size_t len)
{
    if (!s || (!v && len))
        return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "%s: NULL %s", sfk_props[id].name, s ? "value" : "server");
    sfk_value *slot;
    sfk_lock(s);
    int rc = set_prologue(s, id, index, SFK_T_BYTES, &slot);
    if (!rc)
        rc = sfk_value_set_bytes(slot, v, len);
    sfk_unlock(s);
    return rc ? rc : sfk_ok();
}

/* ---- internal access ----------------------------------------------------------------------- */

int64_t sfk_prop_int(sftpkit_server *s, sfk_prop_id id, int64_t index)
{
    sfk_lock(s);
    sfk_value *slot = sfk_value_slot(s, id, index);
    int64_t v = slot ? slot->i : sfk_props[id].default_i;
    sfk_unlock(s);
    return v;
}

char *sfk_prop_str(sftpkit_server *s, sfk_prop_id id, int64_t index)
{
    sfk_lock(s);
    sfk_value *slot = sfk_value_slot(s, id, index);
    char *copy = sfk_strdup(slot ? slot->s : sfk_props[id].default_s);
    sfk_unlock(s);
    return copy;
}

int sfk_prop_bytes(sftpkit_server *s, sfk_prop_id id, int64_t index, uint8_t **out, size_t *len)
{
    sfk_lock(s);
    sfk_value *slot = sfk_value_slot(s, id, index);
    *out = NULL;
    *len = 0;
    int rc = 0;
    if (slot && slot->n) {
        *out = malloc(slot->n);
        if (*out) {
            memcpy(*out, slot->b, slot->n);
            *len = slot->n;
        } else {
            rc = sfk_error(SFTPKIT_ERROR_OUT_OF_MEMORY, "out of memory");
        }
    }
    sfk_unlock(s);
    return rc;
}

void sfk_prop_put_int(sftpkit_server *s, sfk_prop_id id, int64_t index, int64_t v)
{
    sfk_lock(s);
    sfk_value *slot = sfk_value_slot(s, id, index);
    if (slot)
        slot->i = v;
    sfk_unlock(s);
}

int sfk_prop_put_str(sftpkit_server *s, sfk_prop_id id, int64_t index, const char *v)
{
    sfk_lock(s);
    sfk_value *slot = sfk_value_slot(s, id, index);
    int rc = slot ? sfk_value_set_str(slot, v) : SFTPKIT_ERROR_INVALID_PARAMETER;
    sfk_unlock(s);
    return rc;
}

int sfk_prop_put_bytes(sftpkit_server *s, sfk_prop_id id, int64_t index, const uint8_t *v, size_t len)
{
    sfk_lock(s);
    sfk_value *slot = sfk_value_slot(s, id, index);
    int rc = slot ? sfk_value_set_bytes(slot, v, len) : SFTPKIT_ERROR_INVALID_PARAMETER;
    sfk_unlock(s);
    return rc;
}

int64_t sfk_list_count(sftpkit_server *s, sfk_list_id list)
{
    sfk_lock(s);
    int64_t n = s->lists[list].count;
    sfk_unlock(s);
    return n;
}
