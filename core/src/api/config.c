/* config("Name=Value") / config("Name") and do_action(). Settings are table-driven (generated from
 * spec/sftpkit.json): every value is validated and stored in a canonical text form. */
#include "api/config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/errors.h"
#include "api/server.h"
#include "util/log.h"

int sfk_parse_bool(const char *t)
{
    static const char *const yes[] = {"true", "yes", "1"}, *const no[] = {"false", "no", "0"};
    for (int i = 0; i < 3; i++) {
        if (!strcasecmp(t, yes[i]))
            return 1;
        if (!strcasecmp(t, no[i]))
            return 0;
    }
    return -1;
}

static int parse_int(const char *t, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(t, &end, 10);
    if (errno || end == t || *end)
        return -1;
    *out = v;
    return 0;
}

static int choice_index(const char *const *choices, const char *t)
{
    for (int i = 0; choices[i]; i++)
        if (!strcasecmp(choices[i], t))
            return i;
    return -1;
}

/* Canonical text of value for setting d, or NULL after recording why it is invalid. */
static char *canonicalize(const sfk_config_desc *d, const char *value)
{
    char buf[32];
    switch (d->type) {
    case SFK_C_BOOL: {
        int b = sfk_parse_bool(value);
        if (b < 0)
            return sfk_error(SFTPKIT_ERROR_INVALID_VALUE, "%s: \"%s\" is not a boolean (True/False/Yes/No/1/0)",
                             d->name, value),
                   NULL;
        return sfk_strdup(b ? "True" : "False");
    }
    case SFK_C_INT: {
        int64_t v;
        if (parse_int(value, &v))
            return sfk_error(SFTPKIT_ERROR_INVALID_VALUE, "%s: \"%s\" is not an integer", d->name, value), NULL;
        if (v < d->min || v > d->max)
            return sfk_error(SFTPKIT_ERROR_INVALID_VALUE, "%s: %" PRId64 " is outside %" PRId64 "..%" PRId64, d->name,
                             v, d->min, d->max),
                   NULL;
        snprintf(buf, sizeof buf, "%" PRId64, v);
        return sfk_strdup(buf);
    }
    case SFK_C_CHOICE: {
        int i = choice_index(d->choices, value);
        if (i < 0)
            return sfk_error(SFTPKIT_ERROR_INVALID_VALUE, "%s: \"%s\" is not a supported value", d->name, value), NULL;
        return sfk_strdup(d->choices[i]);
    }
    case SFK_C_LIST: { /* comma-separated choices, normalized to lower case without blanks */
        char *out = calloc(1, strlen(value) + 1), *copy = strdup(value), *save = NULL;
        if (!out || !copy)
            return free(out), free(copy), sfk_error(SFTPKIT_ERROR_OUT_OF_MEMORY, "out of memory"), NULL;
        for (char *tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
            int i = choice_index(d->choices, tok);
            if (i < 0) {
                sfk_error(SFTPKIT_ERROR_INVALID_VALUE, "%s: \"%s\" is not a supported value", d->name, tok);
                free(out), free(copy);
                return NULL;
            }
            if (*out)
                strcat(out, ",");
            strcat(out, d->choices[i]);
        }
        free(copy);
        return out;
    }
    case SFK_C_STRING:
        return sfk_strdup(value);
    }
    return NULL;
}

int sfk_config_init(sftpkit_server *s)
{
    for (int i = 0; i < SFK_CFG_COUNT; i++)
        if (!(s->config.values[i] = sfk_strdup(sfk_configs[i].default_value)))
            return SFTPKIT_ERROR_OUT_OF_MEMORY;
    return 0;
}

void sfk_config_destroy(sftpkit_server *s)
{
    for (int i = 0; i < SFK_CFG_COUNT; i++) {
        free(s->config.values[i]);
        s->config.values[i] = NULL;
        for (sfk_config_keyed *k = s->config.keyed[i], *next; k; k = next) {
            next = k->next;
            free(k->key), free(k->value), free(k);
        }
        s->config.keyed[i] = NULL;
    }
}

int64_t sfk_config_int(sftpkit_server *s, sfk_config_id id)
{
    sfk_lock(s);
    const char *v = s->config.values[id];
    int64_t out = 0;
    if (sfk_configs[id].type == SFK_C_BOOL)
        out = sfk_parse_bool(v) == 1;
    else
        parse_int(v, &out);
    sfk_unlock(s);
    return out;
}

char *sfk_config_str(sftpkit_server *s, sfk_config_id id)
{
    sfk_lock(s);
    char *copy = sfk_strdup(s->config.values[id]);
    sfk_unlock(s);
    return copy;
}

/* Splits "Name[key]" into the setting and its key; returns the setting id or -1. */
static int lookup(const char *name, size_t name_len, char **key)
{
    *key = NULL;
    const char *bracket = memchr(name, '[', name_len);
    size_t base_len = bracket ? (size_t)(bracket - name) : name_len;
    for (int i = 0; i < SFK_CFG_COUNT; i++) {
        const sfk_config_desc *d = &sfk_configs[i];
        if (strlen(d->name) != base_len || strncasecmp(d->name, name, base_len))
            continue;
        if (!d->keyed != !bracket)
            return -1;
        if (bracket) {
            const char *close = memchr(bracket, ']', name_len - base_len);
            if (!close || close != name + name_len - 1 || close == bracket + 1)
                return -1;
            *key = strndup(bracket + 1, (size_t)(close - bracket - 1));
            if (!*key)
                return -1;
        }
        return i;
    }
    return -1;
}

static sfk_config_keyed **keyed_slot(sfk_config_store *c, int id, const char *key)
{
    sfk_config_keyed **p = &c->keyed[id];
    while (*p && strcasecmp((*p)->key, key))
        p = &(*p)->next;
    return p;
}

static int config_set(sftpkit_server *s, int id, char *key, const char *value)
{
    const sfk_config_desc *d = &sfk_configs[id];
    char *canon = canonicalize(d, value);
    if (!canon)
        return sftpkit_last_error_code();
    int rc = 0;
    sfk_lock(s);
    if (d->frozen_when_active && s->values[SFK_P_ACTIVE].i) {
        rc = sfk_error(SFTPKIT_ERROR_INVALID_STATE, "%s cannot change while the server is active", d->name);
    } else if (key) {
        sfk_config_keyed **slot = keyed_slot(&s->config, id, key);
        if (!*slot && !(*slot = calloc(1, sizeof **slot))) {
            rc = sfk_error(SFTPKIT_ERROR_OUT_OF_MEMORY, "out of memory");
        } else {
            if (!(*slot)->key) {
                (*slot)->key = key;
                key = NULL;
            }
            free((*slot)->value);
            (*slot)->value = canon;
            canon = NULL;
        }
    } else {
        free(s->config.values[id]);
        s->config.values[id] = canon;
        canon = NULL;
    }
    sfk_unlock(s);
    free(canon);
    free(key);
    if (!rc)
        sfk_log_reconfigure(s); /* logging settings take effect at once */
    return rc;
}

static int config_get(sftpkit_server *s, int id, char *key, char **out)
{
    sfk_lock(s);
    const char *v = s->config.values[id];
    if (key) {
        sfk_config_keyed **slot = keyed_slot(&s->config, id, key);
        v = *slot ? (*slot)->value : "";
    }
    char *copy = sfk_strdup(v);
    sfk_unlock(s);
    free(key);
    if (!copy)
        return SFTPKIT_ERROR_OUT_OF_MEMORY;
    *out = copy;
    return 0;
}

SFTPKIT_API int sftpkit_server_config(sftpkit_server *s, const char *setting, char **out)
{
    if (!s || !setting)
        return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "config: NULL %s", s ? "setting" : "server");
    const char *eq = strchr(setting, '=');
    size_t name_len = eq ? (size_t)(eq - setting) : strlen(setting);
    while (name_len && isspace((unsigned char)setting[name_len - 1]))
        name_len--;
    while (name_len && isspace((unsigned char)*setting))
        setting++, name_len--;
    char *key;
    int id = lookup(setting, name_len, &key);
    if (id < 0)
        return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "config: unknown setting \"%.*s\"", (int)name_len, setting);
    int rc;
    if (eq) {
        const char *value = eq + 1;
        while (isspace((unsigned char)*value))
            value++;
        rc = config_set(s, id, key, value);
        if (!rc && out && !(*out = sfk_strdup("")))
            rc = SFTPKIT_ERROR_OUT_OF_MEMORY;
    } else {
        if (!out) {
            free(key);
            return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "config: reading %s needs an out pointer",
                             sfk_configs[id].name);
        }
        rc = config_get(s, id, key, out);
    }
    return rc ? rc : sfk_ok();
}

SFTPKIT_API int sftpkit_server_do_action(sftpkit_server *s, const char *action_id, const char *params, char **out)
{
    (void)params;
    (void)out;
    if (!s || !action_id)
        return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "do_action: NULL %s", s ? "action id" : "server");
    /* No additional actions exist in this version; the method is the documented extension point. */
    return sfk_error(SFTPKIT_ERROR_INVALID_PARAMETER, "do_action: unknown action \"%s\"", action_id);
}
