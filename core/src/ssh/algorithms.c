/* The document's algorithm-list syntax over our table of libssh 0.10.6's algorithms.
 * libssh silently drops names it does not know (notes, pitfall 13), so every name is checked here
 * and refused by name before anything reaches libssh. */
#include "ssh/algorithms.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const sfk_algorithm_table *sfk_algorithm_table_for(const char *kind)
{
    for (const sfk_algorithm_table *t = sfk_algorithm_tables; t->kind; t++)
        if (!strcmp(t->kind, kind))
            return t;
    return NULL;
}

static int index_of(const char *const *names, const char *name)
{
    for (int i = 0; names[i]; i++)
        if (!strcmp(names[i], name))
            return i;
    return -1;
}

/* The libssh spelling of name, or NULL when unknown or unsupported. */
static const char *canonical(const sfk_algorithm_table *t, const char *name)
{
    int i = index_of(t->supported, name);
    if (i >= 0)
        return t->supported[i];
    for (int a = 0; t->aliases[a]; a += 2)
        if (!strcmp(t->aliases[a], name))
            return t->aliases[a + 1];
    return NULL;
}

static int count_of(const char *const *names)
{
    int n = 0;
    while (names[n])
        n++;
    return n;
}

static void append_name(char *buf, size_t cap, const char *name)
{
    if (*buf)
        strncat(buf, ", ", cap - strlen(buf) - 1);
    strncat(buf, name, cap - strlen(buf) - 1);
}

/* Evaluates list into enabled[] (indices into t->supported, in order). Returns 0 or sets message. */
static int evaluate(const sfk_algorithm_table *t, const char *list, int *enabled, int *count, char **message)
{
    int n = count_of(t->supported);
    *count = 0;
    for (int i = 0; t->defaults[i]; i++)
        enabled[(*count)++] = index_of(t->supported, t->defaults[i]);
    char *copy = strdup(list ? list : "");
    char unknown[512] = "", unsupported[512] = "";
    if (!copy)
        return *message = NULL, -1;
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",; \t", &save); tok; tok = strtok_r(NULL, ",; \t", &save)) {
        int remove = tok[0] == '-';
        const char *name = remove ? tok + 1 : (tok[0] == '+' ? tok + 1 : tok);
        if (!strcmp(name, "all")) {
            *count = 0;
            if (!remove)
                for (int i = 0; i < n; i++)
                    enabled[(*count)++] = i;
            continue;
        }
        const char *canon = canonical(t, name);
        if (!canon) {
            append_name(index_of(t->unsupported, name) >= 0 ? unsupported : unknown, sizeof unknown, name);
            continue;
        }
        int id = index_of(t->supported, canon), at = -1;
        for (int i = 0; i < *count; i++)
            if (enabled[i] == id)
                at = i;
        if (remove && at >= 0) {
            memmove(&enabled[at], &enabled[at + 1], (size_t)(*count - at - 1) * sizeof *enabled);
            (*count)--;
        } else if (!remove && at < 0) {
            enabled[(*count)++] = id;
        }
    }
    free(copy);
    if (*unknown || *unsupported) {
        char text[1200];
        snprintf(text, sizeof text, "%s%s%s%s%s", *unsupported ? "not supported by this server (libssh 0.10.6): " : "",
                 unsupported, *unsupported && *unknown ? "; " : "", *unknown ? "unknown algorithm names: " : "",
                 unknown);
        *message = strdup(text);
        return -1;
    }
    return 0;
}

int sfk_algorithms_check(const char *kind, const char *list, char **message)
{
    char *resolved = sfk_algorithms_resolve(kind, list, message);
    if (!resolved)
        return -1;
    free(resolved);
    return 0;
}

char *sfk_algorithms_resolve(const char *kind, const char *list, char **message)
{
    *message = NULL;
    const sfk_algorithm_table *t = sfk_algorithm_table_for(kind);
    if (!t) {
        *message = strdup("unknown algorithm kind");
        return NULL;
    }
    int enabled[64], count;
    if (evaluate(t, list, enabled, &count, message))
        return NULL;
    if (count == 0) {
        *message = strdup("the list leaves no algorithm enabled");
        return NULL;
    }
    size_t len = 1;
    for (int i = 0; i < count; i++)
        len += strlen(t->supported[enabled[i]]) + 1;
    char *out = calloc(1, len);
    if (!out)
        return NULL;
    for (int i = 0; i < count; i++) {
        if (i)
            strcat(out, ",");
        strcat(out, t->supported[enabled[i]]);
    }
    return out;
}
