#!/usr/bin/python3
"""The one client of the conformance suite: every runner (C, Python, Java, C#) drives its server
with this program, so all languages see exactly the same client.

Input: one JSON document on stdin, {"host", "port", "base", "vars", "script"} (FORMAT.md).
Output: one JSON line on stdout, {"ok": true} or {"ok": false, "error": "..."}.
Exit status: 0 ok, 1 an expectation did not hold, 2 the driver itself broke.

Runs on Debian's /usr/bin/python3 with python3-paramiko (2.12).
"""
import binascii
import json
import logging
import os
import re
import socket
import stat as statmod
import struct
import sys
import threading
import time

import paramiko

TIMEOUT = 15.0
TEXT_MATCHERS = ("regex", "starts_with", "ends_with", "contains", "not", "any_of", "any")
ERROR_NAMES = {1: "eof", 2: "no_such_file", 3: "permission_denied", 4: "failure", 5: "bad_message",
               6: "no_connection", 7: "connection_lost", 8: "op_unsupported"}


class Mismatch(Exception):
    """An expectation of the script did not hold."""


class CaseError(Exception):
    """The script itself is malformed."""


# ---- SFTP status codes, undone from paramiko's errno mapping ----------------------------------

class StatusError(IOError):
    def __init__(self, code, text):
        super().__init__(text)
        self.code = code


class StatusEOF(EOFError):
    code = 1


class Client(paramiko.SFTPClient):
    """SFTPClient that keeps the wire status code of every failure (paramiko folds most of them
    into a bare IOError). EOF stays an EOFError: paramiko's read and listdir loops rely on it."""

    def _convert_status(self, msg):
        code = msg.get_int()
        text = msg.get_text()
        if code == paramiko.sftp.SFTP_OK:
            return
        if code == paramiko.sftp.SFTP_EOF:
            raise StatusEOF(text)
        raise StatusError(code, text)

    def _send_version(self):
        """As paramiko's, but keeps the extensions the server advertises in its VERSION."""
        self._send_packet(paramiko.sftp.CMD_INIT, struct.pack(">I", paramiko.sftp._VERSION))
        t, data = self._read_packet()
        if t != paramiko.sftp.CMD_VERSION:
            raise paramiko.SFTPError("Incompatible sftp protocol")
        msg = paramiko.Message(data)
        version = msg.get_int()
        self.server_extensions = {}
        while msg.get_remainder():
            name = msg.get_text()
            # v4+ servers put binary data in some (supported2, vendor-id): kept as text, lossily
            self.server_extensions[name] = msg.get_string().decode("utf-8", "replace")
        return version


def error_name(exc):
    code = getattr(exc, "code", None)
    if code is not None:
        return ERROR_NAMES.get(code, "status_%d" % code)
    if isinstance(exc, (EOFError, paramiko.SSHException, socket.error)):
        return "connection_lost"
    return "failure"


# ---- values and matchers (FORMAT.md) ----------------------------------------------------------

class Ctx:
    def __init__(self, doc):
        self.host = doc.get("host", "127.0.0.1")
        self.port = doc.get("port")
        self.base = doc.get("base") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        self.vars = doc.get("vars") or {}

    def value(self, v):
        if isinstance(v, dict):
            if len(v) != 1 and "repeat" not in v:
                raise CaseError("value object must have one key: %r" % (v,))
            if "hex" in v:
                return binascii.unhexlify(v["hex"])
            if "var" in v:
                if v["var"] not in self.vars:
                    raise CaseError("unknown variable %r" % v["var"])
                return self.value(self.vars[v["var"]])
            if "concat" in v:
                return "".join(str(self.value(x)) if not isinstance(self.value(x), bool) else
                               ("true" if self.value(x) else "false") for x in v["concat"])
            if "path" in v:
                return os.path.join(self.base, v["path"])
            if "file" in v:
                with open(os.path.join(self.base, v["file"]), encoding="utf-8") as f:
                    return f.read().rstrip("\n")
            if "repeat" in v:
                return str(v["repeat"]) * int(v["count"])
            raise CaseError("unknown value %r" % (v,))
        return v

    def data(self, v):
        d = self.value(v)
        if isinstance(d, str):
            return d.encode("utf-8")
        if isinstance(d, bytes):
            return d
        raise CaseError("data must be text or bytes: %r" % (v,))

    def matches(self, m, actual):
        if isinstance(m, dict) and len(m) == 1:
            k, a = next(iter(m.items()))
            if k == "hex":
                return isinstance(actual, (bytes, bytearray)) and bytes(actual) == binascii.unhexlify(a)
            if k in ("var", "file"):
                return self.matches(self.value(m), actual)
            if k == "regex":
                return isinstance(actual, str) and re.fullmatch(a, actual) is not None
            if k == "starts_with":
                return isinstance(actual, str) and actual.startswith(a)
            if k == "ends_with":
                return isinstance(actual, str) and actual.endswith(a)
            if k == "contains":
                return isinstance(actual, str) and a in actual
            if k in ("ge", "gt", "le", "lt"):
                if isinstance(actual, bool) or not isinstance(actual, int):
                    return False
                return {"ge": actual >= a, "gt": actual > a, "le": actual <= a, "lt": actual < a}[k]
            if k == "not":
                return not self.matches(a, actual)
            if k == "any_of":
                return any(self.matches(x, actual) for x in a)
            if k == "any":
                return actual is not None
        if isinstance(m, (dict, list)):
            raise CaseError("unknown matcher %r" % (m,))
        if isinstance(m, bool) or isinstance(actual, bool):
            return isinstance(m, bool) and isinstance(actual, bool) and m == actual
        if isinstance(actual, (bytes, bytearray)) and isinstance(m, str):
            return bytes(actual) == m.encode("utf-8")
        return m == actual


def show(v, limit=60):
    r = repr(v)
    return r if len(r) <= limit else r[:limit] + "...(%d)" % (len(v) if hasattr(v, "__len__") else 0)


# ---- the session ------------------------------------------------------------------------------

def load_key(path):
    errors = []
    for cls in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return cls.from_private_key_file(path)
        except Exception as e:  # noqa: BLE001 - try the next key type
            errors.append("%s: %s" % (cls.__name__, e))
    raise CaseError("cannot load key %s (%s)" % (path, "; ".join(errors)))


class Session:
    def __init__(self, ctx):
        self.ctx = ctx
        self.transport = None
        self.sftp = None
        self.handles = {}  # name -> paramiko SFTPFile, from the `open` op
        self.raw = None  # the raw SFTP channel of raw_init (any protocol version)
        self.last_connect = None  # the connect op, repeated by raw_init

    def handle(self, name):
        if name not in self.handles:
            raise CaseError("no open handle %r (open it with the open op first)" % name)
        return self.handles[name]

    def close(self):
        for obj in (self.raw.chan if self.raw else None, self.sftp, self.transport):
            try:
                if obj is not None:
                    obj.close()
            except Exception:  # noqa: BLE001 - closing best effort
                pass
        self.sftp = self.transport = self.raw = None

    def need(self):
        if self.sftp is None:
            raise CaseError("no SFTP session: connect first")
        return self.sftp

    def connect(self, op, sftp=True):
        """sftp False: stop after authentication (raw_init opens its own channel)."""
        self.close()
        self.last_connect = op
        ctx = self.ctx
        try:
            sock = socket.create_connection((ctx.host, ctx.port), timeout=TIMEOUT)
        except ConnectionRefusedError:
            return "refused"
        except (ConnectionResetError, ConnectionAbortedError):
            return "closed"  # accepted and reset at once (a server stopping): FORMAT's "closed"
        sock.settimeout(TIMEOUT)
        try:
            t = paramiko.Transport(sock)
        except (EOFError, socket.error):
            sock.close()
            return "closed"
        t.banner_timeout = TIMEOUT
        t.auth_timeout = TIMEOUT
        opts = t.get_security_options()
        try:
            if "ciphers" in op:
                opts.ciphers = tuple(op["ciphers"])
            if "kex" in op:
                opts.kex = tuple(op["kex"])
            if "macs" in op:
                opts.digests = tuple(op["macs"])
            if "host_key_types" in op:
                opts.key_types = tuple(op["host_key_types"])
            if "compression" in op:
                opts.compression = tuple(op["compression"])
        except ValueError as e:
            raise CaseError("client cannot offer that: %s" % e)
        self.transport = t
        try:
            t.start_client(timeout=TIMEOUT)
        except paramiko.SSHException as e:
            text = str(e).lower()
            if "incompatible" in text or "no acceptable" in text or "no match" in text:
                return "kex_failed"
            return "closed"
        except (EOFError, socket.error):
            return "closed"
        user = str(ctx.value(op.get("user", "")))
        try:
            if "key" in op:
                kp = ctx.value(op["key"])
                if not os.path.isabs(kp):
                    kp = os.path.join(ctx.base, kp)
                try:
                    t.auth_publickey(user, load_key(kp))
                except paramiko.AuthenticationException:
                    if "password" not in op:
                        return "auth_failed"
            if not t.is_authenticated() and "password" in op:
                t.auth_password(user, str(ctx.value(op["password"])))
            if not t.is_authenticated() and "key" not in op and "password" not in op:
                t.auth_none(user)
        except paramiko.AuthenticationException:
            return "auth_failed"
        except (paramiko.SSHException, EOFError, socket.error):
            return "closed"
        if not t.is_authenticated():
            return "auth_failed"
        if not sftp:
            return "ok"
        try:
            chan = t.open_session(timeout=TIMEOUT)
            chan.settimeout(TIMEOUT)
            chan.invoke_subsystem("sftp")
            self.sftp = Client(chan)
        except Exception:  # noqa: BLE001 - any failure here means no SFTP
            return "no_sftp"
        return "ok"

    def check(self, checks):
        t = self.transport
        got = {"server_version": t.remote_version, "cipher": t.remote_cipher, "mac": t.remote_mac,
               "host_key_type": t.host_key_type, "compression": t.remote_compression,
               "host_key": "%s %s" % (t.get_remote_server_key().get_name(), t.get_remote_server_key().get_base64())}
        for k, m in checks.items():
            if k not in got:
                raise CaseError("unknown connect check %r" % k)
            if not self.ctx.matches(m, got[k]):
                raise Mismatch("%s is %s, expected %s" % (k, show(got[k]), show(m)))


# ---- operations -------------------------------------------------------------------------------

def write_and_close(sftp, path, mode, data):
    """Writes a file and closes it, failing when CLOSE fails: paramiko's SFTPFile.close() ignores
    the server's answer to CLOSE, and the suite tests that answer."""
    f = sftp.open(path, mode)
    try:
        f.write(data)
        f.flush()
    except BaseException:
        f.close()
        raise
    handle = f.handle
    f._closed = True  # paramiko must not send a second CLOSE for it
    sftp._request(paramiko.sftp.CMD_CLOSE, handle)


class _Replies:
    """Collects the replies of raw requests in the order they arrive (paramiko calls back)."""

    def __init__(self):
        self.got = []

    def _async_response(self, t, msg, num):
        self.got.append((num, t, msg))


def run_pipeline(sftp, ctx, op):
    """`pipeline`: on one handle (opened r+), sends every request of `requests` before reading
    any reply ({"write": [offset, value]} or {"read": [offset, size]}), then checks that the
    replies came back in request order. Result: {"reads": [data of each read, in order]}."""
    from paramiko.py3compat import long
    from paramiko.sftp import CMD_DATA, CMD_READ, CMD_STATUS, CMD_WRITE
    f = sftp.open(ctx.value(op["path"]), "r+")
    try:
        replies, nums, kinds = _Replies(), [], []
        for rq in op["requests"]:
            if "write" in rq:
                off, v = rq["write"]
                nums.append(sftp._async_request(replies, CMD_WRITE, f.handle, long(int(off)), ctx.data(v)))
                kinds.append("write")
            else:
                off, size = rq["read"]
                nums.append(sftp._async_request(replies, CMD_READ, f.handle, long(int(off)), int(size)))
                kinds.append("read")
        deadline = time.time() + 15
        while len(replies.got) < len(nums):
            if time.time() > deadline:
                raise CaseError("pipeline: %d of %d replies arrived" % (len(replies.got), len(nums)))
            sftp._read_response()
        order = [num for num, _, _ in replies.got]
        if order != nums:
            raise CaseError("pipeline: replies on one handle came out of order: %r for requests %r" % (order, nums))
        reads = []
        for kind, (num, t, msg) in zip(kinds, replies.got):
            if t == CMD_STATUS:
                code = msg.get_int()
                if code != 0 and not (kind == "read" and code == 1):
                    raise CaseError("pipeline: %s request %d failed with status %d" % (kind, num, code))
                if kind == "read":
                    reads.append(b"")
            elif t == CMD_DATA and kind == "read":
                reads.append(msg.get_string())
            else:
                raise CaseError("pipeline: unexpected reply type %d to a %s" % (t, kind))
        return {"reads": reads}
    finally:
        f.close()


def run_sftp_op(sess, op, name):
    """Runs one file operation; returns its result dict (for the expectation) or raises."""
    ctx = sess.ctx
    if name in ("put", "append"):
        data = ctx.data(op["data"])
        write_and_close(sess.need(), ctx.value(op["path"]), "wb" if name == "put" else "ab", data)
        return {}
    if name == "get":
        with sess.need().open(ctx.value(op["path"]), "rb") as f:
            if op.get("prefetch"):
                f.prefetch()  # every READ of the file in flight at once
            return {"data": f.read()}
    if name == "pipeline":
        return run_pipeline(sess.need(), ctx, op)
    if name == "read":
        with sess.need().open(ctx.value(op["path"]), "rb") as f:
            f.seek(int(op.get("offset", 0)))
            return {"data": f.read(int(op["size"]))}
    if name == "ls":
        attrs = sess.need().listdir_attr(ctx.value(op["path"]))
        entries = [{"name": a.filename, "size": a.st_size,
                    "dir": a.st_mode is not None and statmod.S_ISDIR(a.st_mode)} for a in attrs
                   if a.filename not in (".", "..")]
        return {"names": sorted(e["name"] for e in entries), "entries": entries}
    if name in ("stat", "lstat", "fstat"):
        path = ctx.value(op["path"])
        if name == "fstat":
            with sess.need().open(path, "rb") as f:
                a = f.stat()
        else:
            a = getattr(sess.need(), name)(path)
        return {"size": a.st_size, "dir": a.st_mode is not None and statmod.S_ISDIR(a.st_mode),
                "mode": (a.st_mode & 0o7777) if a.st_mode is not None else None,
                "mtime": a.st_mtime, "atime": a.st_atime}
    if name == "mkdir":
        sess.need().mkdir(ctx.value(op["path"]))
        return {}
    if name == "rmdir":
        sess.need().rmdir(ctx.value(op["path"]))
        return {}
    if name == "remove":
        sess.need().remove(ctx.value(op["path"]))
        return {}
    if name == "rename":
        sess.need().rename(ctx.value(op["old"]), ctx.value(op["new"]))
        return {}
    if name == "posix_rename":
        sess.need().posix_rename(ctx.value(op["old"]), ctx.value(op["new"]))
        return {}
    if name == "chmod":
        sess.need().chmod(ctx.value(op["path"]), int(op["mode"]))
        return {}
    if name == "utime":
        sess.need().utime(ctx.value(op["path"]), (int(op["atime"]), int(op["mtime"])))
        return {}
    if name == "truncate":
        sess.need().truncate(ctx.value(op["path"]), int(op["size"]))
        return {}
    if name == "realpath":
        return {"path": sess.need().normalize(ctx.value(op["path"]))}
    if name == "symlink":
        sess.need().symlink(ctx.value(op["target"]), ctx.value(op["path"]))
        return {}
    if name == "readlink":
        return {"path": sess.need().readlink(ctx.value(op["path"]))}
    if name == "extensions":
        return {"names": sorted(sess.need().server_extensions)}
    if name == "open":
        f = sess.need().open(ctx.value(op["path"]), op.get("mode", "r"))
        sess.handles[op["as"]] = f
        return {}
    if name == "close":
        f = sess.handle(op["handle"])
        del sess.handles[op["handle"]]
        write_close = f.handle
        f._closed = True  # the server's answer to CLOSE is checked, unlike SFTPFile.close()
        sess.need()._request(paramiko.sftp.CMD_CLOSE, write_close)
        return {}
    if name == "extended":
        return extended_request(sess, op)
    if name == "raw_init":
        return raw_init(sess, op)
    if name == "raw":
        return raw_request(sess, op)
    raise CaseError("unknown op %r" % name)


# ---- OpenSSH extensions: raw SSH_FXP_EXTENDED requests and their replies ----------------------

STATVFS_FIELDS = ("bsize", "frsize", "blocks", "bfree", "bavail", "files", "ffree", "favail", "fsid", "flag",
                  "namemax")
LIMITS_FIELDS = ("max_packet_length", "max_read_length", "max_write_length", "max_open_handles")


def extended_arg(sess, a):
    """One typed argument of an `extended` op (FORMAT.md: The client driver)."""
    ctx = sess.ctx
    if not isinstance(a, dict) or len(a) != 1:
        raise CaseError("extended arg must be a one-key object: %r" % (a,))
    kind, v = next(iter(a.items()))
    if kind == "string":
        return ctx.data(v)
    if kind == "u32":
        return int(v)
    if kind == "u64":
        return paramiko.py3compat.long(int(v))
    if kind == "handle":
        return sess.handle(v).handle
    if kind == "u32s":
        return b"".join(struct.pack(">I", int(x)) for x in v)
    if kind == "attrs":
        attrs = paramiko.SFTPAttributes()
        for k, x in v.items():
            if k not in ("size", "uid", "gid", "mode", "atime", "mtime"):
                raise CaseError("unknown attribute %r" % k)
        if "size" in v:
            attrs.st_size = int(v["size"])
        if "uid" in v or "gid" in v:
            attrs.st_uid, attrs.st_gid = int(v.get("uid", 0)), int(v.get("gid", 0))
        if "mode" in v:
            attrs.st_mode = int(v["mode"])
        if "atime" in v or "mtime" in v:
            attrs.st_atime, attrs.st_mtime = int(v.get("atime", 0)), int(v.get("mtime", 0))
        return attrs
    raise CaseError("unknown extended arg kind %r" % kind)


def string_list(msg):
    inner = paramiko.Message(msg.get_string())
    out = []
    while inner.get_remainder():
        out.append(inner.get_text())
    return out


def extended_request(sess, op):
    """Sends SSH_FXP_EXTENDED `name` with typed args; decodes the reply by the extension's
    OpenSSH format: STATUS OK -> {}, NAME -> {"path"}, statvfs -> its 11 fields, limits -> its 4,
    users-groups-by-id -> {"users", "groups"}. Error statuses raise as for every other op."""
    name = op["name"]
    args = [extended_arg(sess, a) for a in op.get("args", [])]
    t, msg = sess.need()._request(paramiko.sftp.CMD_EXTENDED, name, *args)
    if t == paramiko.sftp.CMD_STATUS:
        return {"reply": "status"}
    if t == paramiko.sftp.CMD_NAME:
        if msg.get_int() != 1:
            raise Mismatch("extended %s: a NAME reply without exactly one name" % name)
        return {"reply": "name", "path": msg.get_text()}
    if t != paramiko.sftp.CMD_EXTENDED_REPLY:
        raise Mismatch("extended %s: reply type %d" % (name, t))
    out = {"reply": "extended"}
    if name in ("statvfs@openssh.com", "fstatvfs@openssh.com"):
        out.update({f: msg.get_int64() for f in STATVFS_FIELDS})
    elif name == "limits@openssh.com":
        out.update({f: msg.get_int64() for f in LIMITS_FIELDS})
    elif name == "users-groups-by-id@openssh.com":
        out["users"] = string_list(msg)
        out["groups"] = string_list(msg)
    else:
        out["data"] = msg.get_remainder()
        return out
    if msg.get_remainder():
        raise Mismatch("extended %s: %d bytes after the reply's fields" % (name, len(msg.get_remainder())))
    return out


# ---- raw SFTP at any version (3..6): raw_init / raw -------------------------------------------

RAW_TYPES = {"open": 3, "close": 4, "read": 5, "write": 6, "lstat": 7, "fstat": 8, "setstat": 9, "fsetstat": 10,
             "opendir": 11, "readdir": 12, "remove": 13, "mkdir": 14, "rmdir": 15, "realpath": 16, "stat": 17,
             "rename": 18, "readlink": 19, "symlink": 20, "link": 21, "block": 22, "unblock": 23, "extended": 200}
ATTR_FIELDS = ("size", "perm", "mtime", "owner", "group")


class RawChannel:
    """A second SFTP channel on the session's transport, spoken byte by byte, so a case can use
    versions paramiko does not speak (4..6) and fields it never sends."""

    def __init__(self, transport):
        self.chan = transport.open_session(timeout=TIMEOUT)
        self.chan.settimeout(TIMEOUT)
        self.chan.invoke_subsystem("sftp")
        self.version = 0
        self.id = 0
        self.handles = {}

    def send(self, ptype, body, with_id=True):
        if with_id:
            self.id += 1
            body = struct.pack(">I", self.id) + body
        pkt = bytes([ptype]) + body
        self.chan.sendall(struct.pack(">I", len(pkt)) + pkt)

    def _read(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.chan.recv(n - len(buf))
            if not chunk:
                raise EOFError("the server closed the SFTP channel")
            buf += chunk
        return buf

    def recv(self):
        n = struct.unpack(">I", self._read(4))[0]
        data = self._read(n)
        return data[0], paramiko.Message(data[1:])


def raw_attrs_bytes(v, a):
    """Attributes in version v's wire form from {"size", "perm", "mtime", "owner", "group"}."""
    for k in a:
        if k not in ATTR_FIELDS:
            raise CaseError("unknown raw attribute %r" % k)
    flags, body = 0, b""
    if "size" in a:
        flags |= 0x1
        body += struct.pack(">Q", int(a["size"]))
    if v >= 4 and "owner" in a:
        flags |= 0x80
        body += struct.pack(">I", len(a["owner"])) + a["owner"].encode() + struct.pack(">I", len(a.get("group", ""))) \
            + a.get("group", "").encode()
    if "perm" in a:
        flags |= 0x4
        body += struct.pack(">I", int(a["perm"]))
    if "mtime" in a:
        if v >= 4:
            flags |= 0x20
            body += struct.pack(">Q", int(a["mtime"]))
        else:
            flags |= 0x8
            body += struct.pack(">II", int(a["mtime"]), int(a["mtime"]))
    return struct.pack(">I", flags) + (bytes([5]) if v >= 4 else b"") + body


def raw_read_attrs(msg, v):
    """Decodes attributes of version v (drafts -02, -04, -05, -13) into a dict."""
    a = {}
    f = msg.get_int()
    if v >= 4:
        a["type"] = msg.get_byte()[0]
    if f & 0x1:
        a["size"] = msg.get_int64()
    if v >= 6 and f & 0x400:
        msg.get_int64()
    if v <= 3 and f & 0x2:
        a["uid"], a["gid"] = msg.get_int(), msg.get_int()
    if v >= 4 and f & 0x80:
        a["owner"], a["group"] = msg.get_text(), msg.get_text()
    if f & 0x4:
        a["perm"] = msg.get_int() & 0o7777
    if v <= 3 and f & 0x8:
        a["atime"], a["mtime"] = msg.get_int(), msg.get_int()
    if v >= 4:
        for bit, key in ((0x8, "atime"), (0x10, "createtime"), (0x20, "mtime"), (0x8000, "ctime")):
            if f & bit and (bit != 0x8000 or v >= 6):
                a[key] = msg.get_int64()
                if f & 0x100:
                    msg.get_int()
        if f & 0x40:
            msg.get_string()
        if v >= 5 and f & 0x200:
            msg.get_int()
            if v >= 6:
                msg.get_int()
        if v >= 6 and f & 0x800:
            msg.get_byte()
        if v >= 6 and f & 0x1000:
            msg.get_string()
        if v >= 6 and f & 0x2000:
            a["nlink"] = msg.get_int()
        if v >= 6 and f & 0x4000:
            msg.get_string()
    if f & 0x80000000:
        for _ in range(msg.get_int()):
            msg.get_string(), msg.get_string()
    return a


def raw_init(sess, op):
    """Opens the raw channel: INIT `version`; with `select`, version-select as the first request.
    Result: {"version", "extensions": ",name,name,", "versions": the versions extension or ""}."""
    if sess.last_connect is None:
        raise CaseError("raw_init: connect first")
    # the server serves one channel per connection: the raw session gets a connection of its own,
    # made as the last connect op made its one (paramiko's ops need a new connect afterwards)
    outcome = sess.connect(sess.last_connect, sftp=False)
    if outcome != "ok":
        raise Mismatch("raw_init: connecting again gave %s" % outcome)
    raw = sess.raw = RawChannel(sess.transport)
    raw.send(1, struct.pack(">I", int(op["version"])), with_id=False)
    ptype, msg = raw.recv()
    if ptype != 2:
        raise Mismatch("raw_init: reply type %d, expected VERSION" % ptype)
    raw.version = msg.get_int()
    exts = {}
    while msg.get_remainder():
        name = msg.get_text()
        exts[name] = msg.get_string()
    if "select" in op:
        sel = str(op["select"]).encode()
        raw.send(200, struct.pack(">I", 14) + b"version-select" + struct.pack(">I", len(sel)) + sel)
        ptype, msg = raw.recv()
        msg.get_int()
        code = msg.get_int() if ptype == 101 else -1
        if code != 0:
            raise StatusError(code, "version-select refused")
        raw.version = int(sel)
    return {"version": raw.version, "extensions": "," + ",".join(sorted(exts)) + ",",
            "versions": exts.get("versions", b"").decode("utf-8", "replace")}


def raw_request(sess, op):
    """One request on the raw channel: `type` (a name of RAW_TYPES or a number), `args` (typed as
    for `extended`, plus {"u8": n}, {"bool": b} and {"attrs": {...}} in the negotiated version's
    form), `as` (keep a HANDLE reply under that name for {"handle": name}). The reply: STATUS OK ->
    {"reply": "status"} (other codes are errors, status_<n> for the v4+ ones); HANDLE ->
    {"reply": "handle"}; ATTRS -> {"reply": "attrs", "type", "size", "perm", "owner", ...}; NAME ->
    {"reply": "name", "names": [...], "count", and the first entry's attributes as "first_<field>"};
    DATA -> {"data"}; EXTENDED_REPLY -> {"reply": "extended", "data"}."""
    raw = sess.raw
    if raw is None:
        raise CaseError("raw: open the raw channel with raw_init first")
    ctx, v = sess.ctx, raw.version
    t = op["type"]
    ptype = RAW_TYPES.get(t) if isinstance(t, str) else int(t)
    if ptype is None:
        raise CaseError("unknown raw request type %r" % t)
    body = b""
    for a in op.get("args", []):
        if not isinstance(a, dict) or len(a) != 1:
            raise CaseError("raw arg must be a one-key object: %r" % (a,))
        kind, x = next(iter(a.items()))
        if kind == "string":
            d = ctx.data(x)
            body += struct.pack(">I", len(d)) + d
        elif kind == "u8":
            body += bytes([int(x)])
        elif kind == "bool":
            body += bytes([1 if x else 0])
        elif kind == "u32":
            body += struct.pack(">I", int(x))
        elif kind == "u64":
            body += struct.pack(">Q", int(x))
        elif kind == "handle":
            if x not in raw.handles:
                raise CaseError("no raw handle %r" % x)
            body += struct.pack(">I", len(raw.handles[x])) + raw.handles[x]
        elif kind == "attrs":
            body += raw_attrs_bytes(v, x)
        else:
            raise CaseError("unknown raw arg kind %r" % kind)
    raw.send(ptype, body)
    rtype, msg = raw.recv()
    msg.get_int()  # the request id
    if rtype == 101:
        code = msg.get_int()
        if code == 0:
            return {"reply": "status"}
        if code == 1:
            raise StatusEOF("eof")
        raise StatusError(code, "status %d" % code)
    if rtype == 102:
        h = msg.get_string()
        if "as" in op:
            raw.handles[op["as"]] = h
        return {"reply": "handle"}
    if rtype == 105:
        out = {"reply": "attrs"}
        out.update(raw_read_attrs(msg, v))
        return out
    if rtype == 104:
        n = msg.get_int()
        names = []
        out = {"reply": "name", "count": n}
        for i in range(n):
            names.append(msg.get_text())
            if v <= 3:
                msg.get_text()
            a = raw_read_attrs(msg, v)
            if i == 0:
                out.update({"first_" + k: x for k, x in a.items()})
        out["names"] = names
        if n == 1:
            out["path"] = names[0]
        return out
    if rtype == 103:
        return {"data": msg.get_string()}
    if rtype == 201:
        return {"reply": "extended", "data": msg.get_remainder()}
    raise Mismatch("raw %s: reply type %d" % (t, rtype))


def check_result(ctx, expect, result, what):
    if expect == "ok" or expect is None:
        return
    if not isinstance(expect, dict):
        raise CaseError("%s: expect must be \"ok\" or an object" % what)
    if "error" in expect:
        raise Mismatch("%s: succeeded, expected error %s" % (what, expect["error"]))
    for k, m in expect.items():
        if k == "names":
            if sorted(result.get("names", [])) != sorted(ctx.value(x) for x in m):
                raise Mismatch("%s: names %s, expected %s" % (what, result.get("names"), sorted(m)))
            continue
        if k == "entries":
            got = {e["name"]: e for e in result.get("entries", [])}
            for want in m:
                e = got.get(want["name"])
                if e is None:
                    raise Mismatch("%s: no entry %r (have %s)" % (what, want["name"], sorted(got)))
                for f, fm in want.items():
                    if f != "name" and not ctx.matches(fm, e.get(f)):
                        raise Mismatch("%s: entry %r %s is %s, expected %s" % (what, want["name"], f, show(e.get(f)),
                                                                             show(fm)))
            continue
        if k not in result:
            raise CaseError("%s: nothing to compare for %r" % (what, k))
        if k == "reads":  # pipeline: the data of each read, in order
            ok = result[k] == [ctx.data(x) for x in m]
        elif isinstance(m, list):  # a list of values, compared in order
            ok = result[k] == [ctx.value(x) for x in m]
        elif k == "data":
            if isinstance(m, dict) and next(iter(m)) in TEXT_MATCHERS:
                ok = ctx.matches(m, result[k].decode("utf-8", "replace"))
            else:
                ok = result[k] == ctx.data(m)
        else:
            ok = ctx.matches(m, result[k])
        if not ok:
            raise Mismatch("%s: %s is %s, expected %s" % (what, k, show(result[k]), show(m)))


def run_script(ctx, script, label=""):
    sess = Session(ctx)
    try:
        for i, op in enumerate(script):
            name = op.get("op")
            what = "%sop %d %s%s" % (label, i, name, (" " + str(op.get("path", op.get("old", "")))) if
                                     ("path" in op or "old" in op) else "")
            expect = op.get("expect", "ok")
            if name == "connect":
                outcome = sess.connect(op)
                if not ctx.matches(expect, outcome):
                    raise Mismatch("%s as %r: %s, expected %s" % (what, op.get("user"), outcome, show(expect)))
                if outcome == "ok" and "check" in op:
                    sess.check(op["check"])
                continue
            if name == "disconnect":
                sess.close()
                continue
            if name == "abandon_read":  # every READ of the file in flight, then hang up
                f = sess.need().open(ctx.value(op["path"]), "rb")
                f.prefetch()
                time.sleep(int(op.get("wait_ms", 300)) / 1000)
                sess.close()
                continue
            if name == "banner":
                with socket.create_connection((ctx.host, ctx.port), timeout=TIMEOUT) as s:
                    line = s.makefile("rb").readline(512).rstrip(b"\r\n").decode("utf-8", "replace")
                if not ctx.matches(expect, line):
                    raise Mismatch("%s: banner %r, expected %s" % (what, line, show(expect)))
                continue
            if name == "tcp_connect":
                try:
                    socket.create_connection((ctx.host, ctx.port), timeout=TIMEOUT).close()
                    got = "open"
                except ConnectionRefusedError:
                    got = "refused"
                if got != expect:
                    raise Mismatch("%s: %s, expected %s" % (what, got, expect))
                continue
            if name == "sleep_ms":
                time.sleep(int(op["ms"]) / 1000.0)
                continue
            if name == "parallel":
                run_parallel(ctx, op, what)
                continue
            try:
                result = run_sftp_op(sess, op, name)
            except (CaseError, Mismatch):
                raise
            except (IOError, EOFError, paramiko.SSHException, socket.error) as e:
                got = error_name(e)
                if isinstance(expect, dict) and "error" in expect:
                    want = expect["error"]
                    if want != "any" and got != want:
                        raise Mismatch("%s: error %s (%s), expected error %s" % (what, got, e, want))
                    # the STATUS reply's text, as the server sent it (a provider's error message)
                    if "message" in expect and not ctx.matches(expect["message"], str(e)):
                        raise Mismatch("%s: error message %r does not match %r" % (what, str(e), expect["message"]))
                    continue
                raise Mismatch("%s: error %s (%s)" % (what, got, e))
            check_result(ctx, expect, result, what)
    finally:
        sess.close()


def run_parallel(ctx, op, what):
    count = int(op["count"])
    failures = []
    lock = threading.Lock()

    def one(n):
        try:
            sub = Ctx({"host": ctx.host, "port": ctx.port, "base": ctx.base, "vars": dict(ctx.vars, client=n)})
            run_script(sub, op["script"], "%s[%d] " % (what, n))
        except Exception as e:  # noqa: BLE001 - collected and reported below
            with lock:
                failures.append(e)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT * 4)
    if any(t.is_alive() for t in threads):
        raise Mismatch("%s: a parallel client did not finish" % what)
    if failures:
        first = failures[0]
        if isinstance(first, CaseError):
            raise first
        raise Mismatch("%d of %d parallel clients failed; first: %s" % (len(failures), count, first))


def main():
    logging.getLogger("paramiko").setLevel(logging.CRITICAL)
    try:
        doc = json.load(sys.stdin)
        ctx = Ctx(doc)
        run_script(ctx, doc.get("script") or [])
    except Mismatch as e:
        print(json.dumps({"ok": False, "error": str(e)}))
        return 1
    except CaseError as e:
        print(json.dumps({"ok": False, "error": "bad client script: %s" % e}))
        return 2
    except Exception as e:  # noqa: BLE001 - report, do not hang the runner
        print(json.dumps({"ok": False, "error": "driver failure: %s: %s" % (type(e).__name__, e)}))
        return 2
    print(json.dumps({"ok": True}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
