"""The same raw SFTP requests, version by version (3..6), to sftpkit and to a reference server:
Debian's gesftpserver (Green End SFTP server) as the sftp subsystem of a private OpenSSH sshd
started here on 127.0.0.1. Both serve the same directory tree; the replies are decoded per the
drafts and compared field by field (status codes, attribute fields, names). Every difference
must be one listed in DOCUMENTED (and in docs/sftp-versions.md): a new one fails the test."""
import os
import shutil
import socket
import stat
import struct
import subprocess
import time

import paramiko
import pytest

from conftest import transport

GESFTPSERVER = "/usr/libexec/gesftpserver"
SSHD = "/usr/sbin/sshd"
USER, PASSWORD = "alice", "pw"

# (version, case, what) -> why. "what" names the compared item that differs.
ENOTDIR = ("a path through a regular file (ENOTDIR) is NO_SUCH_FILE before v6, as OpenSSH's "
           "sftp-server answers it; gesftpserver says FAILURE. At v6 both say NOT_A_DIRECTORY.")
DOCUMENTED = {(v, case): ENOTDIR for v in (3, 4, 5) for case in ("stat_under_file", "opendir_file")}
# Not compared, by design (docs/sftp-versions.md): sftpkit sends sub-second times (SUBSECOND_TIMES)
# and no attrib-bits; gesftpserver sends whole seconds and attrib-bits 0 with HIDDEN "valid".


# ---- the reference: sshd + gesftpserver -------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def reference(tmp_path, keys):
    """sshd on 127.0.0.1:<free port> with gesftpserver as its sftp subsystem; the client key is
    keys 'ed25519' for the user running the test."""
    for path in (GESFTPSERVER, SSHD):
        if not os.access(path, os.X_OK):
            pytest.fail(f"{path} is missing (scripts/install-deps installs gesftpserver and openssh-server)")
    d = tmp_path / "sshd"
    d.mkdir()
    shutil.copy(keys.pub("ed25519"), d / "authorized_keys")
    port = free_port()
    cfg = d / "sshd_config"
    cfg.write_text(f"""Port {port}
ListenAddress 127.0.0.1
HostKey {keys.path('host_ed25519')}
PidFile {d}/sshd.pid
AuthorizedKeysFile {d}/authorized_keys
StrictModes no
UsePAM no
PermitRootLogin yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
Subsystem sftp {GESFTPSERVER}
""")
    if os.geteuid() == 0:
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # sshd's privilege separation directory
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(cfg)], stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"sshd did not start: {proc.stderr.read()}")
            time.sleep(0.1)
    yield port
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def server(make_server):
    return make_server("--user", f"{USER}:{PASSWORD}")


class Raw:
    """An SFTP subsystem channel spoken to byte by byte."""

    def __init__(self, port, pkey=None, password=None):
        self.t = transport(port)
        import getpass
        if pkey:
            self.t.auth_publickey(getpass.getuser(), pkey)
        else:
            self.t.auth_password(USER, password)
        self.ch = self.t.open_session()
        self.ch.invoke_subsystem("sftp")
        self.ch.settimeout(10)
        self.id = 0

    def send(self, ptype, body, with_id=True):
        if with_id:
            self.id += 1
            body = struct.pack(">I", self.id) + body
        pkt = bytes([ptype]) + body
        self.ch.sendall(struct.pack(">I", len(pkt)) + pkt)

    def recv(self):
        n = struct.unpack(">I", self._read(4))[0]
        data = self._read(n)
        return data[0], data[1:]

    def _read(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.ch.recv(n - len(buf))
            if not chunk:
                raise EOFError("channel closed")
            buf += chunk
        return buf

    def close(self):
        self.t.close()


def s(v):
    v = v.encode() if isinstance(v, str) else v
    return struct.pack(">I", len(v)) + v


class Rd:
    def __init__(self, b):
        self.b, self.o = b, 0

    def u8(self):
        self.o += 1
        return self.b[self.o - 1]

    def u32(self):
        self.o += 4
        return struct.unpack(">I", self.b[self.o - 4:self.o])[0]

    def u64(self):
        self.o += 8
        return struct.unpack(">Q", self.b[self.o - 8:self.o])[0]

    def str(self):
        n = self.u32()
        self.o += n
        return self.b[self.o - n:self.o]

    def left(self):
        return len(self.b) - self.o


def attrs(r, v):
    """Decodes one attribute block of version v into a dict of the fields present."""
    a = {}
    f = a["flags"] = r.u32()
    if v >= 4:
        a["type"] = r.u8()
    if f & 0x1:
        a["size"] = r.u64()
    if v >= 6 and f & 0x400:
        a["alloc"] = r.u64()
    if v <= 3 and f & 0x2:
        a["uid"], a["gid"] = r.u32(), r.u32()
    if v >= 4 and f & 0x80:
        a["owner"], a["group"] = r.str().decode(), r.str().decode()
    if f & 0x4:
        a["perm"] = r.u32()
    if v <= 3 and f & 0x8:
        a["atime"], a["mtime"] = r.u32(), r.u32()
    if v >= 4:
        for bit, name in ((0x8, "atime"), (0x10, "crtime"), (0x20, "mtime"), (0x8000, "ctime")):
            if bit == 0x8000 and v < 6:
                continue
            if f & bit:
                a[name] = r.u64()
                if f & 0x100:
                    a[name + "_ns"] = r.u32()
        if f & 0x40:
            a["acl"] = r.str()
        if v >= 5 and f & 0x200:
            a["bits"] = r.u32()
            if v >= 6:
                a["bits_valid"] = r.u32()
        if v >= 6 and f & 0x800:
            a["text_hint"] = r.u8()
        if v >= 6 and f & 0x1000:
            a["mime"] = r.str()
        if v >= 6 and f & 0x2000:
            a["nlink"] = r.u32()
        if v >= 6 and f & 0x4000:
            a["untranslated"] = r.str()
    if f & 0x80000000:
        for _ in range(r.u32()):
            r.str(), r.str()
    return a


def decode(v, ptype, body):
    """A reply as comparable data (no request id, no handle string, no message text)."""
    r = Rd(body)
    r.u32()  # id
    if ptype == 101:
        return ("STATUS", r.u32())
    if ptype == 102:
        return ("HANDLE",)
    if ptype == 105:
        return ("ATTRS", attrs(r, v))
    if ptype == 104:
        out = []
        for _ in range(r.u32()):
            name = r.str().decode()
            if v <= 3:
                r.str()  # long name
            out.append((name, attrs(r, v)))
        return ("NAME", out)
    if ptype == 201:
        return ("EXTENDED_REPLY", body[4:])
    return ("TYPE", ptype)


# ---- the cases ------------------------------------------------------------------------------------

def tree(base):
    """The directory both servers serve (sftpkit as its root, gesftpserver at its real path)."""
    os.makedirs(os.path.join(base, "dir/inner"), exist_ok=True)
    with open(os.path.join(base, "file.txt"), "w") as f:
        f.write("hello world\n")
    with open(os.path.join(base, "dir/inner/x"), "w") as f:
        f.write("x")
    os.chmod(os.path.join(base, "file.txt"), 0o640)
    os.utime(os.path.join(base, "file.txt"), (1500000000.25, 1600000000.5))
    if not os.path.lexists(os.path.join(base, "link")):
        os.symlink("file.txt", os.path.join(base, "link"))


def open_body(v, path, pflags, access, flags):
    if v >= 5:
        return s(path) + struct.pack(">II", access, flags) + struct.pack(">IB", 0, 1)
    return s(path) + struct.pack(">I", pflags) + (struct.pack(">IB", 0, 1) if v >= 4 else struct.pack(">I", 0))


def stat_body(v, path):
    return s(path) + (struct.pack(">I", 0x1 | 0x4 | 0x8 | 0x20 | 0x80) if v >= 4 else b"")


def cases(v, p):
    """(name, packet type, body) per version; p(rel) is the server's path for rel."""
    out = [
        ("stat_file", 17, stat_body(v, p("file.txt"))),
        ("lstat_link", 7, stat_body(v, p("link"))),
        ("stat_missing", 17, stat_body(v, p("missing"))),
        ("stat_under_file", 17, stat_body(v, p("file.txt/x"))),
        ("readlink", 19, s(p("link"))),
        ("mkdir_existing", 14, s(p("dir")) + (struct.pack(">IB", 0, 2) if v >= 4 else struct.pack(">I", 0))),
        ("rmdir_not_empty", 15, s(p("dir"))),
        ("remove_missing", 13, s(p("missing"))),
        ("opendir_file", 11, s(p("file.txt"))),
        ("open_missing", 3, open_body(v, p("missing"), 0x1, 0x1, 2)),
        ("open_excl_existing", 3, open_body(v, p("file.txt"), 0x2 | 0x8 | 0x20, 0x2, 0)),
        ("rename_onto_existing", 18, s(p("dir/inner/x")) + s(p("file.txt")) + (struct.pack(">I", 0) if v >= 5 else b"")),
        ("unknown_type", 99, b""),
        ("unknown_extension", 200, s("no-such-extension@example.com")),
    ]
    if v >= 6:
        out += [
            ("realpath_stat_always_missing", 16, s(p("missing")) + bytes([3])),
            ("realpath_stat_always", 16, s(p("file.txt")) + bytes([3])),
            ("link_existing", 21, s(p("file.txt")) + s(p("dir")) + bytes([1])),
        ]
    return out


def exchange(raw, v, p):
    raw.send(1, struct.pack(">I", v), with_id=False)
    ptype, body = raw.recv()
    assert ptype == 2
    r = Rd(body)
    version = r.u32()
    exts = []
    while r.left():
        exts.append(r.str().decode())
        r.str()
    replies = {"version": version}
    for name, ptype, b in cases(v, p):
        raw.send(ptype, b)
        rt, rb = raw.recv()
        replies[name] = decode(v, rt, rb)
    return replies, exts


def comparable(x):
    """What must agree: for attributes the fields both servers fill in the same way (times and
    sizes of the same files; names; type; permission bits)."""
    if x[0] == "ATTRS":
        a = dict(x[1])
        for k in ("flags", "atime", "atime_ns", "mtime_ns", "ctime", "ctime_ns", "crtime", "crtime_ns", "alloc",
                  "nlink", "bits", "bits_valid"):
            a.pop(k, None)  # differ in what is filled (documented below), not in value
        return ("ATTRS", a)
    if x[0] == "NAME":
        return ("NAME", [n if not n.startswith("/") else os.path.basename(n) for n, _ in x[1]])
    return x


@pytest.mark.parametrize("version", [3, 4, 5, 6])
def test_same_replies_as_gesftpserver(version, server, reference, keys):
    tree(server.root)
    ref = Raw(reference, pkey=keys.paramiko("ed25519"))
    ours = Raw(server.port, password=PASSWORD)
    try:
        theirs, their_exts = exchange(ref, version, lambda rel: os.path.join(server.root, rel))
        mine, my_exts = exchange(ours, version, lambda rel: "/" + rel)
    finally:
        ref.close()
        ours.close()
    assert mine["version"] == theirs["version"] == version
    diffs = {}
    for name in mine:
        if name == "version":
            continue
        a, b = comparable(mine[name]), comparable(theirs[name])
        if a != b and (version, name) not in DOCUMENTED:
            diffs[name] = {"sftpkit": mine[name], "gesftpserver": theirs[name]}
    assert not diffs, f"v{version}: undocumented differences to gesftpserver:\n" + "\n".join(
        f"  {k}: {v}" for k, v in diffs.items())
    # the extensions a v6 client needs are announced by both
    if version == 6:
        for ext in ("newline", "supported2", "vendor-id"):
            assert ext in my_exts
