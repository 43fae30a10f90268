/* JSON reader/writer of the C conformance runner (see json.h). Recursive descent; depth-limited. */
#include "json.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *p, *end, *start;
    char *err;
    size_t errlen;
    int depth;
} parser;

static json *fail(parser *ps, const char *msg)
{
    if (ps->err && !ps->err[0]) {
        int line = 1, col = 1;
        for (const char *q = ps->start; q < ps->p && q < ps->end; q++) {
            if (*q == '\n')
                line++, col = 1;
            else
                col++;
        }
        snprintf(ps->err, ps->errlen, "%d:%d: %s", line, col, msg);
    }
    return NULL;
}

static void skip_ws(parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static json *node(json_type t)
{
    json *j = calloc(1, sizeof *j);
    if (j)
        j->t = t;
    return j;
}

static int add_item(json *j, char *key, json *v)
{
    if (j->count == j->cap) {
        size_t cap = j->cap ? j->cap * 2 : 4;
        json **items = realloc(j->items, cap * sizeof *items);
        if (!items)
            return -1;
        j->items = items;
        if (j->t == J_OBJ) {
            char **keys = realloc(j->keys, cap * sizeof *keys);
            if (!keys)
                return -1;
            j->keys = keys;
        }
        j->cap = cap;
    }
    j->items[j->count] = v;
    if (j->t == J_OBJ)
        j->keys[j->count] = key;
    j->count++;
    return 0;
}

static int hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Parses a string at ps->p (on the opening quote); *out is malloc'd and NUL-terminated. */
static int parse_string(parser *ps, char **out, size_t *outlen)
{
    ps->p++;
    const char *q = ps->p;
    while (q < ps->end && *q != '"') {
        if (*q == '\\')
            q++;
        q++;
    }
    if (q >= ps->end)
        return fail(ps, "unterminated string"), -1;
    char *s = malloc((size_t)(q - ps->p) + 1); /* escapes never grow the text */
    if (!s)
        return fail(ps, "out of memory"), -1;
    size_t n = 0;
    while (ps->p < q) {
        char c = *ps->p++;
        if ((unsigned char)c < 0x20) {
            free(s);
            return fail(ps, "control character in string"), -1;
        }
        if (c != '\\') {
            s[n++] = c;
            continue;
        }
        c = *ps->p++;
        switch (c) {
        case '"':
            s[n++] = '"';
            break;
        case '\\':
            s[n++] = '\\';
            break;
        case '/':
            s[n++] = '/';
            break;
        case 'b':
            s[n++] = '\b';
            break;
        case 'f':
            s[n++] = '\f';
            break;
        case 'n':
            s[n++] = '\n';
            break;
        case 'r':
            s[n++] = '\r';
            break;
        case 't':
            s[n++] = '\t';
            break;
        case 'u': {
            unsigned cp, lo;
            if (q - ps->p < 4 || hex4(ps->p, &cp) < 0) {
                free(s);
                return fail(ps, "bad \\u escape"), -1;
            }
            ps->p += 4;
            if (cp >= 0xD800 && cp < 0xDC00) { /* a surrogate pair makes one code point */
                if (q - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u' || hex4(ps->p + 2, &lo) < 0 || lo < 0xDC00 ||
                    lo > 0xDFFF) {
                    free(s);
                    return fail(ps, "unpaired surrogate"), -1;
                }
                ps->p += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            n += put_utf8(s + n, cp);
            break;
        }
        default:
            free(s);
            return fail(ps, "bad escape"), -1;
        }
    }
    ps->p = q + 1;
    s[n] = '\0';
    *out = s;
    *outlen = n;
    return 0;
}

static json *parse_value(parser *ps);

static json *parse_container(parser *ps, json_type t)
{
    char close = t == J_OBJ ? '}' : ']';
    if (++ps->depth > 64)
        return fail(ps, "nested too deeply");
    json *j = node(t);
    if (!j)
        return fail(ps, "out of memory");
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        ps->depth--;
        return j;
    }
    for (;;) {
        char *key = NULL;
        size_t klen;
        skip_ws(ps);
        if (t == J_OBJ) {
            if (ps->p >= ps->end || *ps->p != '"' || parse_string(ps, &key, &klen) < 0) {
                json_free(j);
                return fail(ps, "expected a key");
            }
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != ':') {
                free(key);
                json_free(j);
                return fail(ps, "expected ':'");
            }
            ps->p++;
        }
        json *v = parse_value(ps);
        if (!v || add_item(j, key, v) < 0) {
            free(key);
            json_free(v);
            json_free(j);
            return fail(ps, "bad value");
        }
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == close) {
            ps->p++;
            ps->depth--;
            return j;
        }
        json_free(j);
        return fail(ps, t == J_OBJ ? "expected ',' or '}'" : "expected ',' or ']'");
    }
}

static json *parse_value(parser *ps)
{
    skip_ws(ps);
    if (ps->p >= ps->end)
        return fail(ps, "unexpected end");
    char c = *ps->p;
    if (c == '{')
        return parse_container(ps, J_OBJ);
    if (c == '[')
        return parse_container(ps, J_ARR);
    if (c == '"') {
        json *j = node(J_STR);
        if (!j || parse_string(ps, &j->s, &j->slen) < 0) {
            free(j);
            return NULL;
        }
        return j;
    }
    static const struct {
        const char *word;
        json_type t;
        int b;
    } words[] = {{"true", J_BOOL, 1}, {"false", J_BOOL, 0}, {"null", J_NULL, 0}};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        size_t n = strlen(words[i].word);
        if ((size_t)(ps->end - ps->p) >= n && !memcmp(ps->p, words[i].word, n)) {
            ps->p += n;
            json *j = node(words[i].t);
            if (j)
                j->b = words[i].b;
            return j ? j : fail(ps, "out of memory");
        }
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        int neg = c == '-';
        if (neg)
            ps->p++;
        uint64_t v = 0;
        const char *digits = ps->p;
        while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
            unsigned d = (unsigned)(*ps->p++ - '0');
            if (v > (UINT64_MAX - d) / 10)
                return fail(ps, "number too large");
            v = v * 10 + d;
        }
        if (ps->p == digits)
            return fail(ps, "bad number");
        if (ps->p < ps->end && (*ps->p == '.' || *ps->p == 'e' || *ps->p == 'E'))
            return fail(ps, "fractions are not used in the suite");
        if ((!neg && v > (uint64_t)INT64_MAX) || (neg && v > (uint64_t)INT64_MAX + 1))
            return fail(ps, "number outside 64 bits");
        json *j = node(J_NUM);
        if (!j)
            return fail(ps, "out of memory");
        j->n = neg ? (int64_t)(0 - v) : (int64_t)v;
        return j;
    }
    return fail(ps, "unexpected character");
}

json *json_parse(const char *text, size_t len, char *err, size_t errlen)
{
    parser ps = {text, text + len, text, err, errlen, 0};
    if (err && errlen)
        err[0] = '\0';
    json *j = parse_value(&ps);
    if (!j)
        return NULL;
    skip_ws(&ps);
    if (ps.p != ps.end) {
        json_free(j);
        return fail(&ps, "trailing text");
    }
    return j;
}

void json_free(json *j)
{
    if (!j)
        return;
    for (size_t i = 0; i < j->count; i++) {
        json_free(j->items[i]);
        if (j->keys)
            free(j->keys[i]);
    }
    free(j->items);
    free(j->keys);
    free(j->s);
    free(j);
}

const json *json_get(const json *obj, const char *key)
{
    if (!obj || obj->t != J_OBJ)
        return NULL;
    for (size_t i = 0; i < obj->count; i++)
        if (!strcmp(obj->keys[i], key))
            return obj->items[i];
    return NULL;
}

const char *json_str(const json *obj, const char *key)
{
    const json *v = json_get(obj, key);
    return v && v->t == J_STR ? v->s : NULL;
}

const char *json_single_key(const json *j)
{
    return j && j->t == J_OBJ && j->count == 1 ? j->keys[0] : NULL;
}

int json_buf_put(json_buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d)
            return -1;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int json_buf_str(json_buf *b, const char *s, size_t n)
{
    if (json_buf_put(b, "\"", 1) < 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            if (json_buf_put(b, esc, 2) < 0)
                return -1;
        } else if (c < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            if (json_buf_put(b, esc, 6) < 0)
                return -1;
        } else if (json_buf_put(b, (const char *)&s[i], 1) < 0) {
            return -1;
        }
    }
    return json_buf_put(b, "\"", 1);
}

int json_write(json_buf *b, const json *j)
{
    char num[32];
    switch (j->t) {
    case J_NULL:
        return json_buf_put(b, "null", 4);
    case J_BOOL:
        return j->b ? json_buf_put(b, "true", 4) : json_buf_put(b, "false", 5);
    case J_NUM:
        snprintf(num, sizeof num, "%lld", (long long)j->n);
        return json_buf_put(b, num, strlen(num));
    case J_STR:
        return json_buf_str(b, j->s, j->slen);
    case J_ARR:
    case J_OBJ:
        if (json_buf_put(b, j->t == J_ARR ? "[" : "{", 1) < 0)
            return -1;
        for (size_t i = 0; i < j->count; i++) {
            if (i && json_buf_put(b, ",", 1) < 0)
                return -1;
            if (j->t == J_OBJ && (json_buf_str(b, j->keys[i], strlen(j->keys[i])) < 0 || json_buf_put(b, ":", 1) < 0))
                return -1;
            if (json_write(b, j->items[i]) < 0)
                return -1;
        }
        return json_buf_put(b, j->t == J_ARR ? "]" : "}", 1);
    }
    return -1;
}
