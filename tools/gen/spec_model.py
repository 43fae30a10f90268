"""The one model of the sftpkit API that every generator reads.

It joins spec/sftpserver.json (the reference document's extraction) with spec/sftpkit.json
(our additions: ids, ranges, algorithm tables, config types) and answers the questions the
generators share: names in each language, C types, defaults, validation rules.
Python 3 standard library only; deterministic (no dict-order or time dependence).
"""
import json
import os
import re

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SPEC_DIR = os.path.join(ROOT, "spec")

INT64_MAX = 9223372036854775807


def pascal(name):
    """on_auth_password -> OnAuthPassword; base_dir -> BaseDir."""
    return "".join(w[:1].upper() + w[1:] for w in name.split("_"))


def camel(name):
    p = pascal(name)
    return p[:1].lower() + p[1:]


def c_string(text):
    """A C string literal for text (UTF-8, escaped)."""
    out = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ord(ch) < 0x20:
            out.append("\\%03o" % ord(ch))
        elif ord(ch) < 0x80:
            out.append(ch)
        else:
            out.extend("\\%03o" % b for b in ch.encode("utf-8"))
    return '"' + "".join(out) + '"'


def first_sentence(text):
    text = (text or "").strip().split("\n")[0]
    m = re.match(r"(.+?\.)(\s|$)", text)
    return m.group(1) if m else text


class Prop:
    def __init__(self, raw, ext, summaries, version):
        self.name = raw["name"]
        self.type = {"int64": "int"}.get(raw["type"], raw["type"])  # bool | int | string | bytes
        self.index = raw["index"]  # None | "user_index" | "server_key_index"
        self.readonly = raw["readonly"]
        self.remarks = raw.get("remarks", "")
        self.summary = summaries.get(self.name) or first_sentence(self.remarks)
        default = ext["default_overrides"].get(self.name, raw["default"])
        if isinstance(default, str):
            default = default.replace("{version}", version)
        self.default_text = default
        self.default = self._typed_default(default)
        self.validation = ext["validation"].get(self.name, {})
        self.frozen = self.name in ext["frozen_when_active"]
        self.since = ext["since"].get(self.name, ext["since"]["_default"])
        self.upper = self.name.upper()
        self.deferred = None  # "read" | "write" when the C ABI can complete it later (Model sets it)
        self.list = ext["lists"].get(self.index) if self.index else None
        self.is_count = any(l["count"] == self.name for l in ext["lists"].values())
        # per-connection / per-request state: stored per handler call, never server-wide
        self.per_context = any(self.name.startswith(g) for g in ext.get("per_context", {}).get("groups", []))
        eff = ext.get("effects", {}).get("properties", {}).get(self.name, {})
        self.effect = eff.get("effect", "yes")  # yes | none | refused (spec/sftpkit.json "effects")
        self.effect_why = eff.get("why", "")

    @property
    def effect_note(self):
        """One sentence for the bindings' doc comments when the setting is not simply applied."""
        why = self.effect_why.rstrip(". ")
        if self.effect == "none":
            return "No effect in sftpkit: %s." % why
        if self.effect == "refused":
            return "Refused: start() fails with 1048578 unless this is at its default: %s." % why
        return ""

    def _typed_default(self, d):
        if self.type == "bool":
            return 1 if str(d).upper() == "TRUE" else 0
        if self.type == "int":
            return int(d)
        if self.type == "bytes":
            return b""
        return d or ""

    @property
    def range(self):
        return self.validation.get("range")

    @property
    def pascal(self):
        return pascal(self.name)

    @property
    def camel(self):
        return camel(self.name)


class Param:
    def __init__(self, raw, pid):
        self.name = raw["name"]
        self.type = {"int64": "int"}.get(raw["type"], raw["type"])
        self.byref = bool(raw.get("byref"))
        self.id = pid
        self.summary = raw.get("summary", "")
        self.ours = bool(raw.get("ours"))  # an sftpkit addition to a reference event

    @property
    def pascal(self):
        return pascal(self.name)

    @property
    def camel(self):
        return camel(self.name)


class Event:
    def __init__(self, raw, eid, since, summaries):
        self.name = raw["name"]
        self.id = eid
        self.params = [Param(p, i) for i, p in enumerate(raw["params"])]
        self.remarks = raw.get("remarks", "")
        self.summary = summaries.get(self.name) or raw.get("summary") or first_sentence(self.remarks)
        self.since = since
        self.upper = self.name.upper()

    @property
    def pascal(self):
        return pascal(self.name)

    @property
    def camel(self):
        return camel(self.name)

    @property
    def short(self):
        """on_auth_password -> auth_password (for event-args class names)."""
        return self.name[3:] if self.name.startswith("on_") else self.name


class Method:
    def __init__(self, raw, summaries):
        self.name = raw["name"]
        self.params = [(p["name"], {"int64": "int"}.get(p["type"], p["type"])) for p in raw["params"]]
        self.returns = {"int64": "int"}.get(raw["returns"], raw["returns"])
        self.remarks = raw.get("remarks", "")
        self.summary = summaries.get(self.name) or first_sentence(self.remarks)


class Config:
    def __init__(self, raw, ext):
        self.name = raw["name"]
        self.scope = raw["scope"]
        self.summary = raw.get("summary", "")
        self.remarks = raw.get("remarks", "")
        self.type = ext["type"]
        self.default = ext["default"]
        self.range = ext.get("range")
        self.choices = ext.get("choices")
        self.effect = ext.get("effect", True)
        self.frozen = ext.get("frozen_when_active", False)
        self.keyed = ext.get("keyed", False)
        self.effect_kind = "yes" if self.effect else "none"  # yes | none | refused
        self.effect_why = ""
        self.upper = re.sub(r"[^A-Za-z0-9]", "", self.name).upper()


def _summaries_from_seed():
    """Short descriptions from the reference document's lists ('nameDescription.')."""
    path = os.path.join(SPEC_DIR, "summaries.json")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    return {}


class Model:
    def __init__(self):
        with open(os.path.join(SPEC_DIR, "sftpserver.json"), encoding="utf-8") as f:
            raw = json.load(f)
        with open(os.path.join(SPEC_DIR, "sftpkit.json"), encoding="utf-8") as f:
            ext = json.load(f)
        self.raw, self.ext = raw, ext
        self.version = ext["version"]
        self.abi_node = ext["abi_node"]
        self.soversion = ext["soversion"]
        summaries = _summaries_from_seed()
        self.props = [Prop(p, ext, summaries, self.version) for p in raw["properties"]]
        self.prop_by_name = {p.name: p for p in self.props}
        order = ext["event_ids"]
        extra_params = ext.get("extra_event_params", {})
        raw_events = {}
        for e in raw["events"] + ext.get("extra_events", {}).get("events", []):
            e = dict(e, params=list(e["params"]) + [dict(p, byref=False, ours=True)
                                                   for p in extra_params.get(e["name"], [])])
            raw_events[e["name"]] = e
        missing = sorted(set(raw_events) - set(order))
        if missing:
            raise SystemExit("spec/sftpkit.json: events without an id: %s" % ", ".join(missing))
        self.events = [Event(raw_events[n], i + 1, ext["since"].get(n, ext["since"]["_default"]), summaries)
                       for i, n in enumerate(order) if n in raw_events]
        # which events the deferred-completion ABI can answer later, and what the reply carries
        deferrable = {k: v for k, v in ext.get("deferrable_events", {}).items() if not k.startswith("_")}
        for n, kind in deferrable.items():
            if n not in raw_events or kind not in ("read", "write"):
                raise SystemExit("spec/sftpkit.json deferrable_events: bad entry %s: %s" % (n, kind))
        for e in self.events:
            e.deferred = deferrable.get(e.name)
        # the reference document's methods, then sftpkit's own (same shape, in sftpkit.json)
        self.methods = [Method(m, summaries) for m in raw["methods"] + ext.get("extra_methods", {}).get("methods", [])]
        cfg_ext = ext["config"]
        for c in raw["config_settings"]:
            if c["name"] not in cfg_ext:
                raise SystemExit("spec/sftpkit.json: config setting without a type: %s" % c["name"])
        self.config = [Config(c, cfg_ext[c["name"]]) for c in raw["config_settings"]]
        # Settings of our own (not in the reference document) carry their summary in sftpkit.json.
        known = {c["name"] for c in raw["config_settings"]}
        self.config += [Config({"name": n, "scope": "sftpkit", "summary": e["summary"], "remarks": e.get("remarks", "")}, e)
                        for n, e in cfg_ext.items() if not n.startswith("_") and n not in known and "summary" in e]
        self.symlink_draft_clients = ext.get("symlink_order", {}).get("draft_order_clients", [])
        effects = ext.get("effects", {})
        for name in effects.get("properties", {}):
            if name not in self.prop_by_name:
                raise SystemExit("spec/sftpkit.json effects: unknown property %s" % name)
        cfg_by_name = {c.name: c for c in self.config}
        for name, e in effects.get("config", {}).items():
            if name not in cfg_by_name:
                raise SystemExit("spec/sftpkit.json effects: unknown config setting %s" % name)
            if e["effect"] not in ("none", "refused"):
                raise SystemExit("spec/sftpkit.json effects: %s: effect must be none or refused" % name)
            c = cfg_by_name[name]
            c.effect_kind, c.effect_why, c.effect = e["effect"], e.get("why", ""), False
        for p in self.props:
            if p.effect not in ("yes", "none", "refused") or (p.effect != "yes" and not p.effect_why):
                raise SystemExit("spec/sftpkit.json effects: %s needs effect none/refused and a why" % p.name)
            if p.effect == "refused" and (p.index or p.type == "bytes"):
                raise SystemExit("spec/sftpkit.json effects: only scalar settings can be refused (%s)" % p.name)
        self.errors = ext["errors"]
        extra_enums = {k: v for k, v in ext.get("extra_enums", {}).items() if not k.startswith("_")}
        clash = sorted(set(extra_enums) & set(raw["enums"]))
        if clash:
            raise SystemExit("spec/sftpkit.json extra_enums: already a reference enum: %s" % ", ".join(clash))
        self.enums = dict(raw["enums"], **extra_enums)
        vs = ext.get("value_sets", {})
        self.flag_sets = set(vs.get("flags", []))
        self.prop_value_set = dict(vs.get("properties", {}))    # property name -> enum group
        self.param_value_set = dict(vs.get("event_params", {}))  # event parameter name -> enum group
        for group in list(self.flag_sets) + list(self.prop_value_set.values()) + list(self.param_value_set.values()):
            if group not in self.enums:
                raise SystemExit("spec/sftpkit.json value_sets: unknown value set %s" % group)
        params = {p.name for e in self.events for p in e.params}
        for name in self.prop_value_set:
            if name not in self.prop_by_name:
                raise SystemExit("spec/sftpkit.json value_sets: %s is not a property" % name)
        for name in self.param_value_set:
            if name not in params:
                raise SystemExit("spec/sftpkit.json value_sets: %s is not an event parameter" % name)
        self.algorithms = {k: v for k, v in ext["algorithms"].items() if not k.startswith("_")}
        self.lists = ext["lists"]
        self.ssh_key = ext["ssh_key"]
        self._check()

    def _check(self):
        for name in list(self.ext["validation"]) + self.ext["frozen_when_active"]:
            if name not in self.prop_by_name:
                raise SystemExit("spec/sftpkit.json names an unknown property: %s" % name)
        for l in self.lists.values():
            if l["count"] not in self.prop_by_name:
                raise SystemExit("spec/sftpkit.json: list count %s is not a property" % l["count"])

    def list_props(self, index):
        return [p for p in self.props if p.index == index]

    def scalar_props(self):
        return [p for p in self.props if p.index is None]

    def error_consts(self):
        """Unique (NAME, code, text) in document order."""
        return [(e["name"], e["code"], e["text"]) for e in self.errors]

    def enum_consts(self):
        """[(group, name, value)] for the document's value sets."""
        out = []
        for group in sorted(self.enums):
            for name, value in self.enums[group].items():
                out.append((group, name, value))
        return out


def load():
    return Model()
