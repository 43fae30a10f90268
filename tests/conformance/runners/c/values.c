/* Values, variables and matchers of the case format (FORMAT.md "Values", "Matchers"). */
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crt.h"

int crt_fail(char **err, const char *fmt, ...)
{
    if (err && !*err) {
        va_list ap;
        va_start(ap, fmt);
        if (vasprintf(err, fmt, ap) < 0)
            *err = NULL;
        va_end(ap);
    }
    return -1;
}

char *crt_strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* ---- crt_val ------------------------------------------------------------------------------- */

void crt_val_free(crt_val *v)
{
    free(v->s);
    memset(v, 0, sizeof *v);
}

void crt_val_int(crt_val *v, crt_type t, int64_t i)
{
    memset(v, 0, sizeof *v);
    v->t = t;
    v->i = t == CRT_BOOL ? (i != 0) : i;
}

int crt_val_mem(crt_val *v, crt_type t, const void *s, size_t len)
{
    memset(v, 0, sizeof *v);
    v->t = t;
    v->s = malloc(len + 1);
    if (!v->s)
        return -1;
    if (len)
        memcpy(v->s, s, len);
    v->s[len] = '\0';
    v->len = len;
    return 0;
}

int crt_val_take_str(crt_val *v, char *s)
{
    int rc = crt_val_mem(v, CRT_STR, s ? s : "", s ? strlen(s) : 0);
    sftpkit_free(s);
    return rc;
}

int crt_val_take_bytes(crt_val *v, uint8_t *p, size_t len)
{
    int rc = crt_val_mem(v, CRT_BYTES, p, len);
    sftpkit_free(p);
    return rc;
}

int crt_val_copy(crt_val *dst, const crt_val *src)
{
    if (src->t == CRT_STR || src->t == CRT_BYTES)
        return crt_val_mem(dst, src->t, src->s, src->len);
    *dst = *src;
    dst->s = NULL;
    return 0;
}

int crt_val_equal(const crt_val *a, const crt_val *b)
{
    int a_mem = a->t == CRT_STR || a->t == CRT_BYTES, b_mem = b->t == CRT_STR || b->t == CRT_BYTES;
    if (a_mem && b_mem) /* a string equals bytes with its UTF-8 */
        return a->len == b->len && !memcmp(a->s, b->s, a->len);
    if (a->t != b->t)
        return 0;
    return a->t == CRT_NULL || a->i == b->i;
}

const char *crt_val_show(const crt_val *v)
{
    static __thread char bufs[4][128];
    static __thread int next;
    char *b = bufs[next++ & 3];
    switch (v->t) {
    case CRT_NULL:
        return "null";
    case CRT_BOOL:
        return v->i ? "true" : "false";
    case CRT_INT:
        snprintf(b, 128, "%lld", (long long)v->i);
        return b;
    case CRT_STR:
        snprintf(b, 128, "\"%.*s\"%s", (int)(v->len > 100 ? 100 : v->len), v->s, v->len > 100 ? "..." : "");
        return b;
    case CRT_BYTES: {
        int n = snprintf(b, 128, "bytes[%zu]:", v->len);
        for (size_t i = 0; i < v->len && n < 120; i++)
            n += snprintf(b + n, 128 - (size_t)n, "%02x", (unsigned char)v->s[i]);
        return b;
    }
    }
    return "?";
}

/* ---- variables ------------------------------------------------------------------------------ */

int crt_var_get(crt_case *cs, const char *name, crt_val *out)
{
    int rc = -1;
    pthread_mutex_lock(&cs->lock);
    for (size_t i = 0; i < cs->nvars; i++) {
        if (!strcmp(cs->var_names[i], name)) {
            rc = crt_val_copy(out, &cs->var_vals[i]);
            break;
        }
    }
    pthread_mutex_unlock(&cs->lock);
    return rc;
}

void crt_var_set(crt_case *cs, const char *name, const crt_val *v)
{
    crt_val copy;
    if (crt_val_copy(&copy, v) < 0)
        return;
    pthread_mutex_lock(&cs->lock);
    for (size_t i = 0; i < cs->nvars; i++) {
        if (!strcmp(cs->var_names[i], name)) {
            crt_val_free(&cs->var_vals[i]);
            cs->var_vals[i] = copy;
            pthread_mutex_unlock(&cs->lock);
            return;
        }
    }
    char **names = realloc(cs->var_names, (cs->nvars + 1) * sizeof *names);
    crt_val *vals = names ? realloc(cs->var_vals, (cs->nvars + 1) * sizeof *vals) : NULL;
    if (names)
        cs->var_names = names;
    if (vals)
        cs->var_vals = vals;
    char *n = names && vals ? strdup(name) : NULL;
    if (n) {
        cs->var_names[cs->nvars] = n;
        cs->var_vals[cs->nvars] = copy;
        cs->nvars++;
    } else {
        crt_val_free(&copy);
    }
    pthread_mutex_unlock(&cs->lock);
}

const crt_val *crt_param(const crt_record *r, const char *name)
{
    for (int i = 0; r && i < r->count; i++)
        if (!strcmp(r->names[i], name))
            return &r->vals[i];
    return NULL;
}

/* ---- values --------------------------------------------------------------------------------- */

static int unhex(const char *h, size_t n, crt_val *out, char **err)
{
    if (n % 2)
        return crt_fail(err, "odd hex string");
    if (crt_val_mem(out, CRT_BYTES, "", 0) < 0)
        return -1;
    free(out->s);
    out->s = malloc(n / 2 + 1);
    if (!out->s)
        return -1;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v;
        if (sscanf(h + 2 * i, "%2x", &v) != 1)
            return crt_val_free(out), crt_fail(err, "bad hex string");
        out->s[i] = (char)v;
    }
    out->len = n / 2;
    out->s[out->len] = '\0';
    return 0;
}

int crt_resolve(crt_case *cs, const json *j, const crt_record *params, crt_val *out, char **err)
{
    memset(out, 0, sizeof *out);
    switch (j->t) {
    case J_NULL:
        return 0;
    case J_BOOL:
        crt_val_int(out, CRT_BOOL, j->b);
        return 0;
    case J_NUM:
        crt_val_int(out, CRT_INT, j->n);
        return 0;
    case J_STR:
        return crt_val_mem(out, CRT_STR, j->s, j->slen);
    case J_ARR:
        return crt_fail(err, "a list is not a value");
    case J_OBJ:
        break;
    }
    const json *rep = json_get(j, "repeat");
    if (rep) {
        const json *cnt = json_get(j, "count");
        if (rep->t != J_STR || !cnt || cnt->t != J_NUM || cnt->n < 0)
            return crt_fail(err, "bad repeat value");
        size_t total = rep->slen * (size_t)cnt->n;
        if (crt_val_mem(out, CRT_STR, "", 0) < 0)
            return -1;
        free(out->s);
        out->s = malloc(total + 1);
        if (!out->s)
            return -1;
        for (int64_t i = 0; i < cnt->n; i++)
            memcpy(out->s + (size_t)i * rep->slen, rep->s, rep->slen);
        out->s[total] = '\0';
        out->len = total;
        return 0;
    }
    const char *k = json_single_key(j);
    if (!k)
        return crt_fail(err, "a value object has one key");
    const json *a = j->items[0];
    if (!strcmp(k, "hex")) {
        if (a->t != J_STR)
            return crt_fail(err, "hex needs a string");
        return unhex(a->s, a->slen, out, err);
    }
    if (!strcmp(k, "var")) {
        if (a->t != J_STR || crt_var_get(cs, a->s, out) < 0)
            return crt_fail(err, "variable %s was never set", a->t == J_STR ? a->s : "?");
        return 0;
    }
    if (!strcmp(k, "param")) {
        const crt_val *p = a->t == J_STR ? crt_param(params, a->s) : NULL;
        if (!p)
            return crt_fail(err, "no event parameter %s here", a->t == J_STR ? a->s : "?");
        return crt_val_copy(out, p);
    }
    if (!strcmp(k, "concat")) {
        if (a->t != J_ARR)
            return crt_fail(err, "concat needs a list");
        json_buf b = {0};
        json_buf_put(&b, "", 0);
        for (size_t i = 0; i < a->count; i++) {
            crt_val part;
            if (crt_resolve(cs, a->items[i], params, &part, err) < 0) {
                free(b.data);
                return -1;
            }
            char num[32];
            if (part.t == CRT_INT)
                snprintf(num, sizeof num, "%lld", (long long)part.i);
            else if (part.t == CRT_BOOL)
                snprintf(num, sizeof num, "%s", part.i ? "true" : "false");
            if (part.t == CRT_STR || part.t == CRT_BYTES)
                json_buf_put(&b, part.s, part.len);
            else if (part.t != CRT_NULL)
                json_buf_put(&b, num, strlen(num));
            crt_val_free(&part);
        }
        int rc = crt_val_mem(out, CRT_STR, b.data ? b.data : "", b.len);
        free(b.data);
        return rc;
    }
    if (!strcmp(k, "path")) {
        if (a->t != J_STR)
            return crt_fail(err, "path needs a string");
        char *p = crt_path_join(cs->conf_dir, a->s);
        int rc = p ? crt_val_mem(out, CRT_STR, p, strlen(p)) : -1;
        free(p);
        return rc;
    }
    if (!strcmp(k, "file")) {
        if (a->t != J_STR)
            return crt_fail(err, "file needs a string");
        char *p = crt_path_join(cs->conf_dir, a->s), *data = NULL;
        size_t len = 0;
        int rc = p ? crt_read_file(p, &data, &len) : -1;
        free(p);
        if (rc < 0)
            return crt_fail(err, "cannot read %s", a->s);
        while (len && data[len - 1] == '\n')
            len--;
        rc = crt_val_mem(out, CRT_STR, data, len);
        free(data);
        return rc;
    }
    return crt_fail(err, "unknown value {\"%s\": ...}", k);
}

/* ---- matchers ------------------------------------------------------------------------------- */

static int regex_full(const char *pattern, const crt_val *actual, int *ok, char **err)
{
    char *anchored = NULL;
    if (asprintf(&anchored, "^(%s)$", pattern) < 0)
        return -1;
    regex_t re;
    int rc = regcomp(&re, anchored, REG_EXTENDED | REG_NOSUB);
    free(anchored);
    if (rc != 0)
        return crt_fail(err, "bad regex %s", pattern);
    *ok = regexec(&re, actual->s, 0, NULL, 0) == 0 && strlen(actual->s) == actual->len;
    regfree(&re);
    return 0;
}

int crt_match(crt_case *cs, const json *m, const crt_val *actual, const crt_record *params, int *ok, char **err)
{
    *ok = 0;
    const char *k = json_single_key(m);
    if (k && m->t == J_OBJ) {
        const json *a = m->items[0];
        int is_text = actual->t == CRT_STR || actual->t == CRT_BYTES;
        if (!strcmp(k, "regex") || !strcmp(k, "starts_with") || !strcmp(k, "ends_with") || !strcmp(k, "contains")) {
            crt_val want;
            if (crt_resolve(cs, a, params, &want, err) < 0)
                return -1;
            if (want.t != CRT_STR) {
                crt_val_free(&want);
                return crt_fail(err, "%s needs a string", k);
            }
            int rc = 0;
            if (!is_text)
                *ok = 0;
            else if (!strcmp(k, "regex"))
                rc = regex_full(want.s, actual, ok, err);
            else if (!strcmp(k, "starts_with"))
                *ok = actual->len >= want.len && !memcmp(actual->s, want.s, want.len);
            else if (!strcmp(k, "ends_with"))
                *ok = actual->len >= want.len && !memcmp(actual->s + actual->len - want.len, want.s, want.len);
            else
                *ok = memmem(actual->s, actual->len, want.s, want.len) != NULL;
            crt_val_free(&want);
            return rc;
        }
        if (!strcmp(k, "ge") || !strcmp(k, "gt") || !strcmp(k, "le") || !strcmp(k, "lt")) {
            if (a->t != J_NUM)
                return crt_fail(err, "%s needs a number", k);
            if (actual->t != CRT_INT)
                return 0;
            int64_t x = actual->i, n = a->n;
            *ok = !strcmp(k, "ge") ? x >= n : !strcmp(k, "gt") ? x > n : !strcmp(k, "le") ? x <= n : x < n;
            return 0;
        }
        if (!strcmp(k, "not")) {
            if (crt_match(cs, a, actual, params, ok, err) < 0)
                return -1;
            *ok = !*ok;
            return 0;
        }
        if (!strcmp(k, "any_of")) {
            if (a->t != J_ARR)
                return crt_fail(err, "any_of needs a list");
            for (size_t i = 0; i < a->count; i++) {
                if (crt_match(cs, a->items[i], actual, params, ok, err) < 0)
                    return -1;
                if (*ok)
                    return 0;
            }
            return 0;
        }
        if (!strcmp(k, "any")) {
            *ok = actual->t != CRT_NULL;
            return 0;
        }
        /* hex, var, param, concat, path, file: compare with the value */
    }
    if (m->t == J_ARR)
        return crt_fail(err, "a list is not a matcher");
    crt_val want;
    if (crt_resolve(cs, m, params, &want, err) < 0)
        return -1;
    *ok = crt_val_equal(&want, actual);
    crt_val_free(&want);
    return 0;
}
