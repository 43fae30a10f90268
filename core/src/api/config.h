/* config("Name=Value") settings: their table (generated) and storage. Internal. */
#ifndef SFK_CONFIG_H
#define SFK_CONFIG_H

#include <stdint.h>

#include "api/config_gen.h"
#include "sftpkit/sftpkit.h"

typedef enum { SFK_C_INT, SFK_C_BOOL, SFK_C_STRING, SFK_C_CHOICE, SFK_C_LIST } sfk_config_type;

typedef struct {
    const char *name;
    sfk_config_type type;
    const char *default_value;
    int64_t min, max;           /* SFK_C_INT */
    const char *const *choices; /* SFK_C_CHOICE, SFK_C_LIST */
    int effect;                 /* 0: accepted and kept, no effect in this library (documented) */
    int frozen_when_active;
    int keyed; /* Name[key]=Value */
} sfk_config_desc;

extern const sfk_config_desc sfk_configs[SFK_CFG_COUNT];

typedef struct sfk_config_keyed {
    char *key;
    char *value;
    struct sfk_config_keyed *next;
} sfk_config_keyed;

typedef struct {
    char *values[SFK_CFG_COUNT]; /* canonical text: "True"/"False", decimal, lower-case choices */
    sfk_config_keyed *keyed[SFK_CFG_COUNT];
} sfk_config_store;

/* For the core: current values (taking the server lock). Bools read as 0/1. */
int64_t sfk_config_int(sftpkit_server *s, sfk_config_id id);
char *sfk_config_str(sftpkit_server *s, sfk_config_id id); /* malloc'd */

int sfk_config_init(sftpkit_server *s);
void sfk_config_destroy(sftpkit_server *s);

/* Parses True/False/Yes/No/1/0 in any case; -1 when it is none of them. */
int sfk_parse_bool(const char *text);

#endif
