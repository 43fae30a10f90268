"""Generated cmocka tests: every property's default, round trip, rejected values (left unchanged),
index past the count, frozen-while-active; every config setting; every event id, name and
parameter accessor, and every typed fire helper's by-ref round trip."""
from spec_model import c_string, INT64_MAX
from gen_c import HEADER

ERR_PARAM, ERR_STATE, ERR_VALUE = "SFTPKIT_ERROR_INVALID_PARAMETER", "SFTPKIT_ERROR_INVALID_STATE", \
    "SFTPKIT_ERROR_INVALID_VALUE"


def idx(p):
    return "0, " if p.index else ""


def count_setup(p, m):
    if not p.index:
        return ""
    return "    assert_int_equal(sftpkit_server_set_%s(s, 1), 0);\n" % m.lists[p.index]["count"]


def good_value(p, m):
    """A valid value different from the default, as C source."""
    v = p.validation
    if v.get("hook"):
        return None  # a setter with side effects: tested by hand beside its hook
    if p.type == "bool":
        return str(1 - p.default)
    if p.type == "int":
        if p.is_count:
            return "3"
        if "range" in v:
            lo, hi = v["range"]
            if p.name == "min_sftp_version":
                return "3"
            for cand in (p.default + 1, p.default - 1, lo, hi):
                if lo <= cand <= hi and cand != p.default:
                    return "%dLL" % cand
        if "flags" in v:
            return "6"
        if p.validation.get("hook"):
            return None
        return "1234567890123LL"
    if p.type == "string":
        if "choice" in v:
            return c_string([c for c in v["choice"] if c != p.default][0])
        if "algorithms" in v:
            a = m.algorithms[v["algorithms"]]
            return c_string("-all," + a["supported"][-1])
        return c_string("value \u00e9\u00e8 \u2713")
    return None


def bad_values(p, m):
    """[(C value, expected error)] that must be refused and leave the property unchanged."""
    v, out = p.validation, []
    if p.type == "int" and "range" in v:
        lo, hi = v["range"]
        if hi < INT64_MAX:
            out.append(("%dLL" % (hi + 1), ERR_VALUE))
        if lo > -INT64_MAX:
            out.append(("%dLL" % (lo - 1), ERR_VALUE))
    if p.type == "int" and "flags" in v:
        out.append(("%dLL" % (v["flags"] + 1), ERR_VALUE))
        out.append(("-1LL", ERR_VALUE))
    if p.type == "string" and "choice" in v:
        out.append(('"no-such-choice"', ERR_VALUE))
    if p.type == "string" and "algorithms" in v:
        a = m.algorithms[v["algorithms"]]
        out.append(('"no-such-algorithm"', ERR_VALUE))
        out.append(('"-all"', ERR_VALUE))
        if a["unsupported"]:
            out.append((c_string(a["unsupported"][0]), ERR_VALUE))
    return out


def prop_test(p, m):
    name = "test_prop_" + p.name
    b = ["static void %s(void **state)\n{\n    (void)state;\n    sftpkit_server *s = sftpkit_server_new();" % name,
         "    assert_non_null(s);"]
    b.append(count_setup(p, m).rstrip("\n")) if p.index else None
    cty = {"bool": "int", "int": "int64_t"}
    # default
    if p.type in ("bool", "int"):
        b.append("    %s got = -7;\n    assert_int_equal(sftpkit_server_get_%s(s, %sgot), 0);" % (cty[p.type], p.name, idx(p) + "&"))
        b[-1] = b[-1].replace(", &got", ", &got").replace("(s, 0, &got)", "(s, 0, &got)")
        if p.validation.get("assigned"):  # a fresh value per object (user_handle): never the default
            b.append("    assert_true(got > 0);")
        else:
            b.append("    assert_int_equal(got, %dLL);" % p.default)
    elif p.type == "string":
        b.append("    char *got = NULL;\n    assert_int_equal(sftpkit_server_get_%s(s, %s&got), 0);" % (p.name, idx(p)))
        b.append("    assert_string_equal(got, %s);\n    sftpkit_free(got);" % c_string(p.default))
    else:
        b.append("    uint8_t *got = NULL;\n    size_t len = 99;")
        b.append("    assert_int_equal(sftpkit_server_get_%s(s, %s&got, &len), 0);" % (p.name, idx(p)))
        b.append("    assert_int_equal(len, 0);\n    sftpkit_free(got);")
    # index past the count (and negative)
    if p.index:
        count = m.lists[p.index]["count"]
        out_args = {"bool": "&ib", "int": "&ii", "string": "&is", "bytes": "&ib8, &ilen"}[p.type]
        b.append("    int ib; int64_t ii; char *is; uint8_t *ib8; size_t ilen;\n"
                 "    (void)ib; (void)ii; (void)is; (void)ib8; (void)ilen;")
        for bad in ("1", "-1", "1000000"):
            b.append("    assert_int_equal(sftpkit_server_get_%s(s, %s, %s), %s);" % (p.name, bad, out_args, ERR_PARAM))
        b.append("    assert_int_equal(sftpkit_last_error_code(), %s);" % ERR_PARAM)
        b.append("    assert_non_null(strstr(sftpkit_last_error_message(), \"%s\"));" % p.name)
        b.append("    assert_int_equal(sftpkit_server_set_%s(s, 0), 0);" % count)
        b.append("    assert_int_equal(sftpkit_server_get_%s(s, 0, %s), %s);" % (p.name, out_args, ERR_PARAM))
    if p.readonly:
        b.append("    sftpkit_server_free(s);\n}\n")
        return name, "\n".join(x for x in b if x)
    if p.index:
        b.append("    assert_int_equal(sftpkit_server_set_%s(s, 1), 0);" % m.lists[p.index]["count"])
    good = good_value(p, m)
    # round trip
    if p.type in ("bool", "int") and good is not None:
        b.append("    assert_int_equal(sftpkit_server_set_%s(s, %s%s), 0);" % (p.name, idx(p), good))
        b.append("    assert_int_equal(sftpkit_server_get_%s(s, %s&got), 0);\n    assert_int_equal(got, %s);"
                 % (p.name, idx(p), good))
        if p.index:
            b.append("    assert_int_equal(sftpkit_server_set_%s(s, 1, %s), %s);" % (p.name, good, ERR_PARAM))
    elif p.type == "string":
        b.append("    assert_int_equal(sftpkit_server_set_%s(s, %s%s), 0);" % (p.name, idx(p), good))
        b.append("    assert_int_equal(sftpkit_server_get_%s(s, %s&got), 0);" % (p.name, idx(p)))
        b.append("    assert_string_equal(got, %s);\n    sftpkit_free(got);" % good)
        b.append("    assert_int_equal(sftpkit_server_set_%s(s, %sNULL), %s);" % (p.name, idx(p), ERR_PARAM))
        if p.index:
            b.append("    assert_int_equal(sftpkit_server_set_%s(s, 1, %s), %s);" % (p.name, good, ERR_PARAM))
    elif p.type == "bytes":
        b.append("    static const uint8_t data[] = {1, 2, 0, 255};")
        b.append("    assert_int_equal(sftpkit_server_set_%s(s, %sdata, sizeof data), 0);" % (p.name, idx(p)))
        b.append("    assert_int_equal(sftpkit_server_get_%s(s, %s&got, &len), 0);" % (p.name, idx(p)))
        b.append("    assert_int_equal(len, sizeof data);\n    assert_memory_equal(got, data, sizeof data);\n"
                 "    sftpkit_free(got);")
        if p.index:
            b.append("    assert_int_equal(sftpkit_server_set_%s(s, 1, data, 1), %s);" % (p.name, ERR_PARAM))
    # rejected values leave the property unchanged
    for bad, err in bad_values(p, m):
        b.append("    assert_int_equal(sftpkit_server_set_%s(s, %s%s), %s);" % (p.name, idx(p), bad, err))
        b.append("    assert_int_equal(sftpkit_last_error_code(), %s);" % err)
        b.append("    assert_non_null(strstr(sftpkit_last_error_message(), \"%s\"));" % p.name)
        if p.type == "string":
            b.append("    assert_int_equal(sftpkit_server_get_%s(s, %s&got), 0);" % (p.name, idx(p)))
            b.append("    assert_string_equal(got, %s);\n    sftpkit_free(got);" % good)
        elif good is not None:
            b.append("    assert_int_equal(sftpkit_server_get_%s(s, %s&got), 0);\n    assert_int_equal(got, %s);"
                     % (p.name, idx(p), good))
    # frozen while active
    if p.frozen and good is not None and p.type != "bytes":
        b.append("    sfk_prop_put_int(s, SFK_P_ACTIVE, -1, 1);")
        b.append("    assert_int_equal(sftpkit_server_set_%s(s, %s%s), %s);" % (p.name, idx(p), good, ERR_STATE))
        b.append("    sfk_prop_put_int(s, SFK_P_ACTIVE, -1, 0);")
    b.append("    sftpkit_server_free(s);\n}\n")
    return name, "\n".join(x for x in b if x)


def config_test(c):
    name = "test_config_" + c.upper.lower()
    setting = c.name.replace("[domain]", "[example.com]")
    default = "" if c.keyed else c.default
    b = ["static void %s(void **state)\n{\n    (void)state;\n    sftpkit_server *s = sftpkit_server_new();" % name,
         "    char *out = NULL;",
         "    assert_int_equal(sftpkit_server_config(s, %s, &out), 0);" % c_string(setting),
         "    assert_string_equal(out, %s);\n    sftpkit_free(out);" % c_string(default)]
    good = {"int": str((c.range[0] + c.range[1]) // 2 if c.range else 5), "bool": "yes",
            "string": "some value", "choice": (c.choices or [""])[-1].upper(),
            "list": ",".join((c.choices or [])[:2]).upper()}[c.type]
    canon = {"bool": "True" if c.default != "True" else "True", "choice": (c.choices or [""])[-1],
             "list": ",".join((c.choices or [])[:2])}.get(c.type, good)
    b.append("    assert_int_equal(sftpkit_server_config(s, %s, NULL), 0);" % c_string(setting + "=" + good))
    b.append("    assert_int_equal(sftpkit_server_config(s, %s, &out), 0);" % c_string(setting))
    b.append("    assert_string_equal(out, %s);\n    sftpkit_free(out);" % c_string(canon))
    bad = {"int": ["not-a-number"] + (["%d" % (c.range[1] + 1), "%d" % (c.range[0] - 1)] if c.range else []),
           "bool": ["maybe"], "choice": ["no-such-value"], "list": ["no-such-value"], "string": []}[c.type]
    for v in bad:
        b.append("    assert_int_equal(sftpkit_server_config(s, %s, NULL), SFTPKIT_ERROR_INVALID_VALUE);"
                 % c_string(setting + "=" + v))
        b.append("    assert_non_null(strstr(sftpkit_last_error_message(), %s));" % c_string(c.name.replace("[domain]", "")))
        b.append("    assert_int_equal(sftpkit_server_config(s, %s, &out), 0);" % c_string(setting))
        b.append("    assert_string_equal(out, %s);\n    sftpkit_free(out);" % c_string(canon))
    b.append("    sftpkit_server_free(s);\n}\n")
    return name, "\n".join(b)


def event_test(e):
    name = "test_event_" + e.name
    b = ["static void %s(void **state)\n{\n    (void)state;" % name,
         "    assert_int_equal(sftpkit_event_id(%s), SFTPKIT_EVENT_%s);" % (c_string(e.name), e.upper),
         "    assert_string_equal(sftpkit_event_name(SFTPKIT_EVENT_%s), %s);" % (e.upper, c_string(e.name)),
         "    assert_int_equal(sftpkit_event_param_count(SFTPKIT_EVENT_%s), %d);" % (e.upper, len(e.params)),
         "    sftpkit_event ev;\n    sfk_event_init(&ev, SFTPKIT_EVENT_%s);\n    int64_t iv;\n    char *sv;" % e.upper]
    for p in e.params:
        b.append("    { const char *n; int t, r;\n      assert_int_equal(sftpkit_event_param_info(SFTPKIT_EVENT_%s, %d, &n, &t, &r), 0);\n"
                 "      assert_string_equal(n, %s); assert_int_equal(t, %d); assert_int_equal(r, %d); }"
                 % (e.upper, p.id, c_string(p.name), {"bool": 0, "int": 1, "string": 2}[p.type], int(p.byref)))
        if p.type == "string":
            b.append("    ev.v[%d].s = \"in-%s\";" % (p.id, p.name))
            b.append("    assert_int_equal(sftpkit_event_get_str(&ev, %s, &sv), 0);\n    assert_string_equal(sv, \"in-%s\");\n"
                     "    sftpkit_free(sv);" % (c_string(p.name), p.name))
            b.append("    assert_int_equal(sftpkit_event_get_int(&ev, %s, &iv), SFTPKIT_ERROR_INVALID_PARAMETER);"
                     % c_string(p.name))
            want = "0" if p.byref else "SFTPKIT_ERROR_INVALID_PARAMETER"
            b.append("    assert_int_equal(sftpkit_event_set_str(&ev, %s, \"out\"), %s);" % (c_string(p.name), want))
        else:
            b.append("    ev.v[%d].i = 1;" % p.id)
            b.append("    assert_int_equal(sftpkit_event_get_int(&ev, %s, &iv), 0);\n    assert_int_equal(iv, 1);"
                     % c_string(p.name))
            b.append("    assert_int_equal(sftpkit_event_get_str(&ev, %s, &sv), SFTPKIT_ERROR_INVALID_PARAMETER);"
                     % c_string(p.name))
            want = "0" if p.byref else "SFTPKIT_ERROR_INVALID_PARAMETER"
            b.append("    assert_int_equal(sftpkit_event_set_int(&ev, %s, 5), %s);" % (c_string(p.name), want))
    b.append("    assert_int_equal(sftpkit_event_get_int(&ev, \"no_such_param\", &iv), SFTPKIT_ERROR_INVALID_PARAMETER);")
    b.append("    sfk_event_cleanup(&ev);")
    # the typed fire helper: the handler sees the inputs and its by-ref writes come back
    args, decls, checks = [], [], []
    for p in e.params:
        if p.byref:
            if p.type == "string":
                decls.append("    char *%s = strdup(\"before\");" % p.name)
                args.append("&" + p.name)
                checks.append("    assert_string_equal(%s, \"set-by-handler\");\n    free(%s);" % (p.name, p.name))
            else:
                decls.append("    %s %s = 0;" % ("int" if p.type == "bool" else "int64_t", p.name))
                args.append("&" + p.name)
                checks.append("    assert_int_equal(%s, 1);" % p.name)
        else:
            args.append('"arg"' if p.type == "string" else "1")
    b.append("    sftpkit_server *s = sftpkit_server_new();\n    int calls = 0;")
    b.append("    assert_int_equal(sftpkit_server_set_event_handler(s, set_every_byref, &calls, NULL), 0);")
    b.extend(decls)
    b.append("    assert_int_equal(sfk_fire_%s(s%s), 1);" % (e.name, "".join(", " + a for a in args)))
    b.append("    assert_int_equal(calls, 1);")
    b.extend(checks)
    b.append("    sftpkit_server_free(s);\n}\n")
    return name, "\n".join(b)


PRELUDE = r'''#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "api/events.h"
#include "api/events_gen.h"
#include "api/props.h"
#include "sftpkit/sftpkit.h"

/* Sets every by-ref parameter of any event: ints/bools to 1, strings to "set-by-handler". */
static int set_every_byref(void *user, sftpkit_server *s, int id, sftpkit_event *ev)
{
    (void)s;
    (*(int *)user)++;
    for (int i = 0; i < sftpkit_event_param_count(id); i++) {
        const char *name;
        int type, byref;
        sftpkit_event_param_info(id, i, &name, &type, &byref);
        if (!byref)
            continue;
        if (type == 2)
            sftpkit_event_set_str(ev, name, "set-by-handler");
        else
            sftpkit_event_set_int(ev, name, 1);
    }
    return 0;
}
'''


def tests_c(m):
    funcs = [prop_test(p, m) for p in m.props] + [config_test(c) for c in m.config] + [event_test(e) for e in m.events]
    body = [HEADER, PRELUDE]
    body.extend(f for _, f in funcs)
    body.append("int main(void)\n{\n    const struct CMUnitTest tests[] = {")
    body.extend("        cmocka_unit_test(%s)," % n for n, _ in funcs)
    body.append("    };\n    return cmocka_run_group_tests_name(\"generated\", tests, NULL, NULL);\n}\n")
    return "\n".join(body)


def outputs(m):
    return {"generated/tests/test_props_gen.c": (tests_c(m), False)}
