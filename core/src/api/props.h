/* Property storage and the table-driven accessors behind the generated sftpkit_server_get_X /
 * sftpkit_server_set_X functions. Internal. */
#ifndef SFK_PROPS_H
#define SFK_PROPS_H

#include <stddef.h>
#include <stdint.h>

#include "api/props_gen.h"
#include "sftpkit/sftpkit.h"

typedef enum { SFK_T_BOOL, SFK_T_INT, SFK_T_STRING, SFK_T_BYTES } sfk_type;

typedef enum {
    SFK_V_NONE,       /* any value of the type */
    SFK_V_RANGE,      /* min..max inclusive */
    SFK_V_FLAGS,      /* a bit set within max */
    SFK_V_CHOICE,     /* one of choices (case-insensitive, stored as given in the table) */
    SFK_V_ALGORITHMS, /* an algorithm list of the named kind (ssh/algorithms.h) */
} sfk_validation;

/* A cross-property check, called under the server lock with the value about to be stored;
 * returns 0 or an error already recorded with sfk_error. */
typedef int (*sfk_check_fn)(sftpkit_server *s, sfk_prop_id id, int64_t value);
/* A setter with side effects (server_key_handle copies a key); called under the server lock
 * after validation, in place of storing the value. */
typedef int (*sfk_hook_fn)(sftpkit_server *s, int64_t index, int64_t value);

typedef struct {
    const char *name;
    sfk_type type;
    sfk_list_id list;
    int readonly;
    int frozen_when_active;
    int is_count;
    sfk_validation validation;
    int64_t min, max;
    const char *const *choices;
    const char *algorithm_kind;
    sfk_check_fn check;
    int64_t default_i;
    const char *default_s;
    sfk_hook_fn hook;
    int per_context; /* stored per thread / per handler call, never server-wide (api/context.h) */
    int assigned;    /* a list column whose every new row gets a fresh object handle (user_handle) */
} sfk_prop_desc;

typedef struct {
    const char *index_name; /* "user_index" */
    sfk_prop_id count_prop;
    int64_t max;
    const char *item; /* "user", for messages */
} sfk_list_desc;

extern const sfk_prop_desc sfk_props[SFK_PROP_COUNT];
extern const sfk_list_desc sfk_lists[SFK_LIST_COUNT];

/* One stored value: i for bool/int, s for string (never NULL once set), b/n for bytes. */
typedef struct {
    int64_t i;
    char *s;
    uint8_t *b;
    size_t n;
} sfk_value;

typedef struct {
    int64_t count;
    sfk_value *rows; /* count rows of sfk_list_columns(list) values each */
} sfk_list_store;

/* Generic accessors (the generated exports call these). index is -1 for scalar properties. */
int sfk_get_bool(const sftpkit_server *s, sfk_prop_id id, int64_t index, int *out);
int sfk_get_int(const sftpkit_server *s, sfk_prop_id id, int64_t index, int64_t *out);
int sfk_get_string(const sftpkit_server *s, sfk_prop_id id, int64_t index, char **out);
int sfk_get_bytes(const sftpkit_server *s, sfk_prop_id id, int64_t index, uint8_t **out, size_t *len);
int sfk_set_bool(sftpkit_server *s, sfk_prop_id id, int64_t index, int v);
int sfk_set_int(sftpkit_server *s, sfk_prop_id id, int64_t index, int64_t v);
int sfk_set_string(sftpkit_server *s, sfk_prop_id id, int64_t index, const char *v);
int sfk_set_bytes(sftpkit_server *s, sfk_prop_id id, int64_t index, const uint8_t *v, size_t len);

/* For the core itself: read any property (taking the lock), write read-only ones, no validation.
 * sfk_prop_str returns a malloc'd copy ("" for unset), NULL only when out of memory. An index
 * past the count reads as the default. */
int64_t sfk_prop_int(sftpkit_server *s, sfk_prop_id id, int64_t index);
char *sfk_prop_str(sftpkit_server *s, sfk_prop_id id, int64_t index);
int sfk_prop_bytes(sftpkit_server *s, sfk_prop_id id, int64_t index, uint8_t **out, size_t *len);
void sfk_prop_put_int(sftpkit_server *s, sfk_prop_id id, int64_t index, int64_t v);
int sfk_prop_put_str(sftpkit_server *s, sfk_prop_id id, int64_t index, const char *v);
int sfk_prop_put_bytes(sftpkit_server *s, sfk_prop_id id, int64_t index, const uint8_t *v, size_t len);
int64_t sfk_list_count(sftpkit_server *s, sfk_list_id list);

/* Lock-held variants for code that already holds s->lock (hooks, checks). */
sfk_value *sfk_value_slot(sftpkit_server *s, sfk_prop_id id, int64_t index);
void sfk_value_clear(sfk_value *v);
int sfk_value_set_str(sfk_value *v, const char *text);
int sfk_value_set_bytes(sfk_value *v, const uint8_t *data, size_t len);

/* Storage lifecycle (server.c). */
int sfk_props_init(sftpkit_server *s);
void sfk_props_destroy(sftpkit_server *s);

#endif
