/* API steps (FORMAT.md "Steps"): set/get by spec property name (generated table), the reference
 * document's methods by name, and SSHKey operations. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crt.h"

typedef struct {
    const char *name;
    const char *args; /* s string, i int, b bool, y bytes */
    char ret;         /* v void, s string, y bytes */
} method_sig;

static const method_sig methods[] = {
    {"config", "s", 's'},
    {"do_action", "ss", 's'},
    {"drop_client", "ib", 'v'},
    {"get_client_buffer", "is", 'y'},
    {"get_client_file_entry", "is", 'v'},
    {"list_clients", "", 's'},
    {"pin_client", "i", 'v'},
    {"set_client_buffer", "isy", 'v'},
    {"set_client_file_entry", "is", 'v'},
    {"start", "", 'v'},
    {"stop", "", 'v'},
    {"metrics_prometheus", "", 's'},
    {"metrics_json", "", 's'},
};

static int convert(const crt_val *v, char want, const char *what, char **err)
{
    int ok = (want == 's' && v->t == CRT_STR) || (want == 'i' && v->t == CRT_INT) ||
             (want == 'b' && v->t == CRT_BOOL) || (want == 'y' && (v->t == CRT_BYTES || v->t == CRT_STR));
    return ok ? 0 : crt_fail(err, "%s: wrong type of value %s", what, crt_val_show(v));
}

static int call_method(crt_case *cs, const char *name, const json *args, const crt_record *params, crt_val *result,
                       int *rc, char **err)
{
    const method_sig *sig = NULL;
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (!strcmp(methods[i].name, name))
            sig = &methods[i];
    if (!sig)
        return crt_fail(err, "unknown method %s", name);
    size_t n = strlen(sig->args), given = args ? args->count : 0;
    if (args && args->t != J_ARR)
        return crt_fail(err, "%s: args must be a list", name);
    if (given != n)
        return crt_fail(err, "%s takes %zu arguments, %zu given", name, n, given);
    crt_val a[3] = {{0}, {0}, {0}};
    int status = 0;
    for (size_t i = 0; i < n && status == 0; i++)
        if (crt_resolve(cs, args->items[i], params, &a[i], err) < 0 || convert(&a[i], sig->args[i], name, err) < 0)
            status = -1;
    if (status == 0) {
        sftpkit_server *s = cs->srv;
        char *out = NULL;
        uint8_t *bytes = NULL;
        size_t len = 0;
        memset(result, 0, sizeof *result);
        if (!strcmp(name, "config"))
            *rc = sftpkit_server_config(s, a[0].s, &out);
        else if (!strcmp(name, "do_action"))
            *rc = sftpkit_server_do_action(s, a[0].s, a[1].s, &out);
        else if (!strcmp(name, "drop_client"))
            *rc = sftpkit_server_drop_client(s, a[0].i, (int)a[1].i);
        else if (!strcmp(name, "get_client_buffer"))
            *rc = sftpkit_server_get_client_buffer(s, a[0].i, a[1].s, &bytes, &len);
        else if (!strcmp(name, "get_client_file_entry"))
            *rc = sftpkit_server_get_client_file_entry(s, a[0].i, a[1].s);
        else if (!strcmp(name, "list_clients"))
            *rc = sftpkit_server_list_clients(s, &out);
        else if (!strcmp(name, "pin_client"))
            *rc = sftpkit_server_pin_client(s, a[0].i);
        else if (!strcmp(name, "set_client_buffer"))
            *rc = sftpkit_server_set_client_buffer(s, a[0].i, a[1].s, (const uint8_t *)a[2].s, a[2].len);
        else if (!strcmp(name, "set_client_file_entry"))
            *rc = sftpkit_server_set_client_file_entry(s, a[0].i, a[1].s);
        else if (!strcmp(name, "start"))
            *rc = sftpkit_server_start(s);
        else if (!strcmp(name, "metrics_prometheus"))
            *rc = sftpkit_server_metrics_prometheus(s, &out);
        else if (!strcmp(name, "metrics_json"))
            *rc = sftpkit_server_metrics_json(s, &out);
        else
            *rc = sftpkit_server_stop(s);
        if (sig->ret == 's')
            crt_val_take_str(result, out);
        else if (sig->ret == 'y')
            crt_val_take_bytes(result, bytes, len);
        else
            sftpkit_free(out);
    }
    for (size_t i = 0; i < 3; i++)
        crt_val_free(&a[i]);
    return status;
}

static sftpkit_key *key_named(crt_case *cs, const char *name)
{
    for (int i = 0; i < cs->nkeys; i++)
        if (!strcmp(cs->key_names[i], name))
            return cs->keys[i];
    if (cs->nkeys == (int)(sizeof cs->keys / sizeof cs->keys[0]))
        return NULL;
    sftpkit_key *k = sftpkit_key_new();
    if (!k)
        return NULL;
    cs->keys[cs->nkeys] = k;
    cs->key_names[cs->nkeys++] = crt_strdup(name);
    return k;
}

static int key_op(crt_case *cs, const json *step, const crt_record *params, crt_val *result, int *rc, char **err)
{
    const char *kname = json_str(step, "key"), *op = json_str(step, "op");
    const json *args = json_get(step, "args");
    sftpkit_key *k = kname ? key_named(cs, kname) : NULL;
    if (!k || !op)
        return crt_fail(err, "bad key step");
    crt_val a[2] = {{0}, {0}};
    size_t n = args && args->t == J_ARR ? args->count : 0;
    int status = 0;
    for (size_t i = 0; i < n && i < 2 && status == 0; i++)
        status = crt_resolve(cs, args->items[i], params, &a[i], err);
    memset(result, 0, sizeof *result);
    if (status == 0) {
        if (!strcmp(op, "generate") && n == 2 && a[0].t == CRT_STR && a[1].t == CRT_INT) {
            *rc = sftpkit_key_generate(k, a[0].s, (int)a[1].i);
        } else if (!strcmp(op, "import_file") && n == 2 && a[0].t == CRT_STR && a[1].t == CRT_STR) {
            *rc = sftpkit_key_import_file(k, a[0].s, a[1].s);
        } else if (!strcmp(op, "import_bytes") && n == 2 && (a[0].t == CRT_STR || a[0].t == CRT_BYTES) &&
                   a[1].t == CRT_STR) {
            *rc = sftpkit_key_import_bytes(k, (const uint8_t *)a[0].s, a[0].len, a[1].s);
        } else if (!strcmp(op, "import_external") && n == 2 && a[0].t == CRT_STR && a[1].t == CRT_STR) {
            *rc = sftpkit_key_import_external(k, a[0].s, a[1].s);
        } else if (!strcmp(op, "export_public") && n == 0) {
            char *line = NULL;
            *rc = sftpkit_key_export_public(k, &line);
            crt_val_take_str(result, line);
        } else if (!strcmp(op, "handle") && n == 0) {
            int64_t h = 0;
            *rc = sftpkit_key_get_handle(k, &h);
            crt_val_int(result, CRT_INT, h);
        } else {
            status = crt_fail(err, "unknown key op %s or wrong arguments", op);
        }
    }
    crt_val_free(&a[0]);
    crt_val_free(&a[1]);
    return status;
}

static const char *step_label(const json *step, char *buf, size_t cap)
{
    const char *kinds[] = {"set", "get", "call"};
    for (int i = 0; i < 3; i++) {
        const char *v = json_str(step, kinds[i]);
        if (v) {
            const json *ix = json_get(step, "index");
            if (ix && ix->t == J_NUM)
                snprintf(buf, cap, "%s %s[%lld]", kinds[i], v, (long long)ix->n);
            else
                snprintf(buf, cap, "%s %s", kinds[i], v);
            return buf;
        }
    }
    snprintf(buf, cap, "key %s %s", json_str(step, "key") ? json_str(step, "key") : "?",
             json_str(step, "op") ? json_str(step, "op") : "?");
    return buf;
}

int crt_api_step(crt_case *cs, const json *step, const crt_record *params, char **err)
{
    char label[160];
    step_label(step, label, sizeof label);
    const json *want_err = json_get(step, "error");
    crt_val result = {0};
    int rc = 0, status = 0, has_index = 0;
    int64_t index = 0;
    const json *ix = json_get(step, "index");
    if (ix) {
        crt_val iv;
        if (crt_resolve(cs, ix, params, &iv, err) < 0)
            return -1;
        if (iv.t != CRT_INT)
            return crt_val_free(&iv), crt_fail(err, "%s: index must be an integer", label);
        has_index = 1;
        index = iv.i;
    }
    const char *prop;
    if ((prop = json_str(step, "set"))) {
        const json *vj = json_get(step, "value");
        crt_val v;
        if (!vj)
            return crt_fail(err, "%s: no value", label);
        if (crt_resolve(cs, vj, params, &v, err) < 0)
            return -1;
        int r = crt_prop_set(cs->srv, prop, has_index, index, &v, &rc);
        crt_val_free(&v);
        if (r == CRT_PROP_UNKNOWN)
            return crt_fail(err, "unknown property %s", prop);
        if (r == CRT_PROP_READONLY)
            return crt_fail(err, "property %s has no setter", prop);
        if (r == CRT_PROP_INDEX)
            return crt_fail(err, "%s: index %s", label, has_index ? "given for a scalar" : "missing");
        if (r == CRT_PROP_TYPE)
            return crt_fail(err, "%s: value of the wrong type", label);
    } else if ((prop = json_str(step, "get"))) {
        int r = crt_prop_get(cs->srv, prop, has_index, index, &result, &rc);
        if (r == CRT_PROP_UNKNOWN)
            return crt_fail(err, "unknown property %s", prop);
        if (r == CRT_PROP_INDEX)
            return crt_fail(err, "%s: index %s", label, has_index ? "given for a scalar" : "missing");
    } else if (json_str(step, "call")) {
        status = call_method(cs, json_str(step, "call"), json_get(step, "args"), params, &result, &rc, err);
    } else if (json_str(step, "key")) {
        status = key_op(cs, step, params, &result, &rc, err);
    } else {
        return crt_fail(err, "unknown step");
    }
    if (status < 0) {
        crt_val_free(&result);
        return -1;
    }
    if (want_err) {
        if (want_err->t != J_NUM)
            status = crt_fail(err, "%s: error must be a number", label);
        else if (rc == 0)
            status = crt_fail(err, "%s: succeeded, expected error %lld", label, (long long)want_err->n);
        else if (rc != want_err->n)
            status = crt_fail(err, "%s: error %d (%s), expected error %lld", label, rc, sftpkit_last_error_message(),
                              (long long)want_err->n);
        crt_val_free(&result);
        return status;
    }
    if (rc != 0) {
        crt_val_free(&result);
        return crt_fail(err, "%s: %s (error %d)", label, sftpkit_last_error_message(), rc);
    }
    const json *expect = json_get(step, "expect");
    if (expect) {
        int ok = 0;
        if (crt_match(cs, expect, &result, params, &ok, err) < 0)
            status = -1;
        else if (!ok) {
            json_buf b = {0};
            json_write(&b, expect);
            status = crt_fail(err, "%s: got %s, expected %.200s", label, crt_val_show(&result), b.data ? b.data : "?");
            free(b.data);
        }
    }
    const char *save = json_str(step, "save");
    if (status == 0 && save)
        crt_var_set(cs, save, &result);
    crt_val_free(&result);
    return status;
}
