"""The generated part of the conformance suite: one case per property (default, round trip,
rejected values that leave it unchanged, index checks), one per frozen-while-active property
(needs a started server), and one per config setting. Written to tests/conformance/cases/ and
committed: every language's runner reads them, and a clean clone must have them.

Expected values come from the spec (the reference document's defaults plus spec/sftpkit.json's
validation), never from an implementation.
"""
import json

from spec_model import INT64_MAX

ERR_PARAM, ERR_STATE, ERR_VALUE = 1048577, 1048579, 1048580
TEXT = "value \u00e9\u00e8 \u2713"
BYTES = {"hex": "010200ff"}


def _jv(p, v):
    """A Python value of property p as a case value."""
    if p.type == "bool":
        return bool(v)
    if p.type == "bytes":
        return {"hex": v.hex()} if isinstance(v, bytes) else v
    return v


def good_value(p, m):
    """A valid value different from the default, or None when the setter has side effects."""
    v = p.validation
    if v.get("hook"):
        return None
    if p.type == "bool":
        return not p.default
    if p.type == "int":
        if p.is_count:
            return 3
        if "range" in v:
            lo, hi = v["range"]
            if p.name == "min_sftp_version":
                return 3
            for cand in (p.default + 1, p.default - 1, lo, hi):
                if lo <= cand <= hi and cand != p.default:
                    return cand
        if "flags" in v:
            return 6
        return 1234567890123
    if p.type == "string":
        if _is_time(p, m):
            return "2024-01-02T03:04:05Z"  # typed bindings (C# DateTimeOffset) carry real times only
        if "choice" in v:
            return [c for c in v["choice"] if c != p.default][0]
        if "algorithms" in v:
            return "-all," + m.algorithms[v["algorithms"]]["supported"][-1]
        return TEXT
    return BYTES


def bad_values(p, m):
    v, out = p.validation, []
    if p.type == "int" and "range" in v:
        lo, hi = v["range"]
        if hi < INT64_MAX:
            out.append((hi + 1, ERR_VALUE))
        if lo > -INT64_MAX:
            out.append((lo - 1, ERR_VALUE))
    if p.type == "int" and "flags" in v:
        out.append((v["flags"] + 1, ERR_VALUE))
        out.append((-1, ERR_VALUE))
    if p.type == "string" and "choice" in v:
        out.append(("no-such-choice", ERR_VALUE))
    if p.type == "string" and "algorithms" in v:
        a = m.algorithms[v["algorithms"]]
        out.append(("no-such-algorithm", ERR_VALUE))
        out.append(("-all", ERR_VALUE))
        if a["unsupported"]:
            out.append((a["unsupported"][0], ERR_VALUE))
    if p.type == "string" and not _is_time(p, m):  # a typed binding's null time means "not set" ("")
        out.append((None, ERR_PARAM))
    return out


def _is_time(p, m):
    """spec/sftpkit.json value_sets.times: the date-time strings the bindings type."""
    return p.name in m.ext.get("value_sets", {}).get("times", [])


def prop_case(p, m):
    steps = []
    ix = {"index": 0} if p.index else {}
    if p.index:
        count = m.lists[p.index]["count"]
        steps.append({"set": count, "value": 1})
    if not p.validation.get("assigned"):  # assigned per object (user_handle): no fixed default
        steps.append(dict({"get": p.name}, **ix, expect=_jv(p, p.default)))
    if p.index:
        for bad in (1, -1, 1000000):
            steps.append({"get": p.name, "index": bad, "error": ERR_PARAM})
    doc = "%s: %s" % (p.name, "assigned per object" if p.validation.get("assigned") else
                       "default %s" % json.dumps(_jv(p, p.default)))
    if not p.readonly:
        good = good_value(p, m)
        if good is not None:
            steps.append(dict({"set": p.name}, **ix, value=_jv(p, good)))
            steps.append(dict({"get": p.name}, **ix, expect=_jv(p, good)))
            doc += ", round trip"
            for bad, err in bad_values(p, m):
                steps.append(dict({"set": p.name}, **ix, value=bad, error=err))
                steps.append(dict({"get": p.name}, **ix, expect=_jv(p, good)))
            if bad_values(p, m):
                doc += ", rejected values leave it unchanged"
            if p.index:
                steps.append({"set": p.name, "index": 1, "value": _jv(p, good), "error": ERR_PARAM})
        else:
            for bad, err in bad_values(p, m):
                steps.append(dict({"set": p.name}, **ix, value=bad, error=err))
    if p.index:
        doc += ", index outside 0..count-1 is error %d" % ERR_PARAM
    return {"name": "properties.%s" % p.name, "doc": doc + ".", "steps": steps}


def frozen_case(p, m):
    """Frozen properties refuse changes while the server is active (a started server)."""
    good = good_value(p, m)
    if good is None or p.type == "bytes":
        return None
    ix = {"index": 0} if p.index else {}
    steps = [{"call": "start"}, {"get": "active", "expect": True},
             {"get": p.name, **ix, "save": "before"},
             dict({"set": p.name}, **ix, value=_jv(p, good), error=ERR_STATE),
             dict({"get": p.name}, **ix, expect={"var": "before"}),
             {"call": "stop"}, {"get": "active", "expect": False},
             dict({"set": p.name}, **ix, value=_jv(p, good)),
             dict({"get": p.name}, **ix, expect=_jv(p, good))]
    return {"name": "properties.%s.frozen_when_active" % p.name,
            "doc": "%s cannot change while the server is active (error %d), and can again after stop." % (
                p.name, ERR_STATE),
            "server": True, "steps": steps}


def config_case(c):
    setting = c.name.replace("[domain]", "[example.com]")
    default = "" if c.keyed else c.default
    good = {"int": str((c.range[0] + c.range[1]) // 2 if c.range else 5), "bool": "yes",
            "string": "some value", "choice": (c.choices or [""])[-1].upper(),
            "list": ",".join((c.choices or [])[:2]).upper()}[c.type]
    canon = {"bool": "True", "choice": (c.choices or [""])[-1],
             "list": ",".join((c.choices or [])[:2])}.get(c.type, good)
    steps = [{"call": "config", "args": [setting], "expect": default},
             {"call": "config", "args": [setting + "=" + good]},
             {"call": "config", "args": [setting], "expect": canon}]
    bad = {"int": ["not-a-number"] + (["%d" % (c.range[1] + 1), "%d" % (c.range[0] - 1)] if c.range else []),
           "bool": ["maybe"], "choice": ["no-such-value"], "list": ["no-such-value"], "string": []}[c.type]
    for v in bad:
        steps.append({"call": "config", "args": [setting + "=" + v], "error": ERR_VALUE})
        steps.append({"call": "config", "args": [setting], "expect": canon})
    if c.type == "bool":
        for text, want in (("False", "False"), ("1", "True"), ("no", "False"), ("TRUE", "True")):
            steps.append({"call": "config", "args": [setting + "=" + text]})
            steps.append({"call": "config", "args": [setting], "expect": want})
    doc = "config %s: default %s, set and read back%s." % (
        setting, json.dumps(default), ", invalid values refused (error %d) and ignored" % ERR_VALUE if bad else "")
    return {"name": "config.%s" % c.upper.lower(), "doc": doc, "steps": steps}


def dump(about, cases):
    """Stable JSON, one step per line: reviewable diffs."""
    out = ['{', '  "about": %s,' % json.dumps(about, ensure_ascii=False), '  "cases": [']
    for i, c in enumerate(cases):
        head = {k: v for k, v in c.items() if k != "steps"}
        lines = ['    {']
        for k, v in head.items():
            lines.append('      %s: %s,' % (json.dumps(k), json.dumps(v, ensure_ascii=False)))
        lines.append('      "steps": [')
        steps = [json.dumps(s, ensure_ascii=False) for s in c["steps"]]
        lines.append(",\n".join("        " + s for s in steps))
        lines.append('      ]')
        lines.append('    }' + ("," if i < len(cases) - 1 else ""))
        out.extend(lines)
    out.append('  ]')
    out.append('}')
    return "\n".join(out) + "\n"


# ---- the C runner's property table (build tree only) -----------------------------------------------

def c_props(m):
    """crt_prop_get/crt_prop_set: property name -> typed accessor of the public C API."""
    g = ["/* Generated by tools/gen/gen_conformance.py from spec/. Do not edit. */",
         "/* The C conformance runner's property table: spec name -> the public accessor. */",
         "#include <string.h>", "", "#include \"crt.h\"", "",
         "int crt_prop_get(sftpkit_server *s, const char *name, int has_index, int64_t index, crt_val *out, int *rc)",
         "{", "    (void)index;"]
    for p in m.props:
        ix = "index, " if p.index else ""
        g.append("    if (!strcmp(name, \"%s\")) {" % p.name)
        g.append("        if (%shas_index)" % ("!" if p.index else ""))
        g.append("            return CRT_PROP_INDEX;")
        if p.type == "bool":
            g.append("        int v = 0;\n        *rc = sftpkit_server_get_%s(s, %s&v);" % (p.name, ix))
            g.append("        crt_val_int(out, CRT_BOOL, v);")
        elif p.type == "int":
            g.append("        int64_t v = 0;\n        *rc = sftpkit_server_get_%s(s, %s&v);" % (p.name, ix))
            g.append("        crt_val_int(out, CRT_INT, v);")
        elif p.type == "string":
            g.append("        char *v = NULL;\n        *rc = sftpkit_server_get_%s(s, %s&v);" % (p.name, ix))
            g.append("        crt_val_take_str(out, v);")
        else:
            g.append("        uint8_t *v = NULL;\n        size_t n = 0;\n        *rc = sftpkit_server_get_%s(s, %s&v, &n);"
                     % (p.name, ix))
            g.append("        crt_val_take_bytes(out, v, n);")
        g.append("        return CRT_PROP_OK;\n    }")
    g += ["    return CRT_PROP_UNKNOWN;", "}", "",
          "int crt_prop_set(sftpkit_server *s, const char *name, int has_index, int64_t index, const crt_val *v, int *rc)",
          "{", "    (void)index;", "    (void)v;", "    (void)rc;"]
    for p in m.props:
        ix = "index, " if p.index else ""
        g.append("    if (!strcmp(name, \"%s\")) {" % p.name)
        if p.readonly:
            g.append("        return CRT_PROP_READONLY;\n    }")
            continue
        g.append("        if (%shas_index)" % ("!" if p.index else ""))
        g.append("            return CRT_PROP_INDEX;")
        if p.type == "bool":
            g.append("        if (v->t != CRT_BOOL)\n            return CRT_PROP_TYPE;")
            g.append("        *rc = sftpkit_server_set_%s(s, %s(int)v->i);" % (p.name, ix))
        elif p.type == "int":
            g.append("        if (v->t != CRT_INT)\n            return CRT_PROP_TYPE;")
            g.append("        *rc = sftpkit_server_set_%s(s, %sv->i);" % (p.name, ix))
        elif p.type == "string":
            g.append("        if (v->t != CRT_STR && v->t != CRT_NULL)\n            return CRT_PROP_TYPE;")
            g.append("        *rc = sftpkit_server_set_%s(s, %sv->t == CRT_NULL ? NULL : v->s);" % (p.name, ix))
        else:
            g.append("        if (v->t != CRT_STR && v->t != CRT_BYTES)\n            return CRT_PROP_TYPE;")
            g.append("        *rc = sftpkit_server_set_%s(s, %s(const uint8_t *)v->s, v->len);" % (p.name, ix))
        g.append("        return CRT_PROP_OK;\n    }")
    g += ["    return CRT_PROP_UNKNOWN;", "}", ""]
    return "\n".join(g)


def outputs(model):
    props = [prop_case(p, model) for p in model.props]
    props += [c for c in (frozen_case(p, model) for p in model.props if p.frozen) if c]
    config = [config_case(c) for c in model.config]
    note = "Generated by tools/gen/gen_conformance.py from spec/. Do not edit: change the spec or the generator."
    return {
        "tests/conformance/cases/properties.json": (dump(
            note + " Every property: default, round trip, rejected values, index checks; frozen-while-active.",
            props), True),
        "tests/conformance/cases/config.json": (dump(
            note + " Every config setting: default, set and read back, invalid values.", config), True),
        "generated/conformance/props_gen.c": (c_props(model), False),
    }
