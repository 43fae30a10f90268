/* A small JSON reader (and writer) for the conformance runner: the whole document becomes a tree
 * with object keys in file order. Numbers are 64-bit integers (the suite has no fractions);
 * strings are UTF-8 with their length (\u0000 allowed). */
#ifndef CRT_JSON_H
#define CRT_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ } json_type;

typedef struct json {
    json_type t;
    int b;
    int64_t n;
    char *s; /* J_STR */
    size_t slen;
    struct json **items; /* J_ARR, J_OBJ values */
    char **keys;         /* J_OBJ */
    size_t count, cap;
} json;

/* NULL on error, with a message (line:col) in err. */
json *json_parse(const char *text, size_t len, char *err, size_t errlen);
void json_free(json *j);
const json *json_get(const json *obj, const char *key);
const char *json_str(const json *obj, const char *key); /* the string member or NULL */
/* The single key of a one-member object, else NULL. */
const char *json_single_key(const json *j);
/* Appends j as JSON text to a growing buffer. */
typedef struct {
    char *data;
    size_t len, cap;
} json_buf;
int json_buf_put(json_buf *b, const char *s, size_t n);
int json_buf_str(json_buf *b, const char *s, size_t n); /* a quoted, escaped string */
int json_write(json_buf *b, const json *j);

#endif
