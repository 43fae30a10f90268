"""Shared fixtures of the integration tests: keys made by ssh-keygen, the test server as a child
process whose stdout is a stream of JSON lines (events and command replies), and client helpers
for paramiko and OpenSSH's sftp.

Run by ctest (tests/integration/CMakeLists.txt) with SFTPKIT_TEST_SERVER pointing at the
sfk-test-server binary; by hand: SFTPKIT_TEST_SERVER=build-x/bin/sfk-test-server /usr/bin/python3 -m
pytest tests/integration."""
import json
import os
import queue
import socket
import subprocess
import threading
import time

import paramiko
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def server_binary():
    path = os.environ.get("SFTPKIT_TEST_SERVER")
    if not path:
        build = os.environ.get("SFTPKIT_BINARY_DIR", os.path.join(REPO, "build"))
        path = os.path.join(build, "bin", "sfk-test-server")
    if not os.access(path, os.X_OK):
        pytest.fail(f"sfk-test-server not found at {path} (set SFTPKIT_TEST_SERVER)")
    return path


# ---- keys ---------------------------------------------------------------------------------------

class Keys:
    """Host and client keys written by ssh-keygen into one directory."""

    def __init__(self, root):
        self.dir = str(root)
        specs = {
            "host_ed25519": ("ed25519", None), "host_rsa": ("rsa", 3072), "host_ecdsa": ("ecdsa", 384),
            "ed25519": ("ed25519", None), "rsa": ("rsa", 2048), "ecdsa": ("ecdsa", 256),
            "stranger": ("ed25519", None),
        }
        for name, (kind, bits) in specs.items():
            cmd = ["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", name, "-f", self.path(name)]
            if bits:
                cmd[2:2] = ["-b", str(bits)]
            subprocess.run(cmd, check=True, stdin=subprocess.DEVNULL)

    def path(self, name):
        return os.path.join(self.dir, name)

    def pub(self, name):
        return self.path(name) + ".pub"

    def paramiko(self, name):
        cls = paramiko.RSAKey if "rsa" in name else paramiko.ECDSAKey if "ecdsa" in name else paramiko.Ed25519Key
        return cls.from_private_key_file(self.path(name))

    def fingerprint(self, name, hash="sha256"):
        out = subprocess.run(["ssh-keygen", "-l", "-E", hash, "-f", self.pub(name)], check=True,
                             capture_output=True, text=True).stdout
        return out.split()[1]


@pytest.fixture(scope="session")
def keys(tmp_path_factory):
    return Keys(tmp_path_factory.mktemp("keys"))


# ---- the server -----------------------------------------------------------------------------------

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:", "ThreadSanitizer")


class Server:
    """sfk-test-server as a child process. Every stdout line is JSON: {"ready":..}, {"event":..}
    or {"reply":..}. Events are kept in order; replies are handed to command() callers."""

    def __init__(self, args, root, keys, host_keys=("host_ed25519",), nofile=None):
        self.root = str(root)
        cmd = [server_binary(), "--root", self.root]
        for hk in host_keys:
            cmd += ["--host-key", keys.path(hk)]
        self.cmd = cmd + [str(a) for a in args]
        self.events = []
        self.replies = queue.Queue()
        self.cond = threading.Condition()
        self.stderr_lines = []
        def limit_descriptors():  # nofile: the server's RLIMIT_NOFILE (the abuse tests)
            import resource
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, bufsize=1,
                                     preexec_fn=limit_descriptors if nofile else None)
        self.ready = queue.Queue()
        threading.Thread(target=self._read_stdout, daemon=True).start()
        stderr_reader = threading.Thread(target=self._read_stderr, daemon=True)
        stderr_reader.start()
        try:
            line = self.ready.get(timeout=30)
        except queue.Empty:
            line = None
        if not line:
            self.proc.kill()
            self.proc.wait()
            stderr_reader.join(10)  # its last lines (the reason it refused to start) may still be in the pipe
            raise AssertionError(f"server did not start: {' '.join(self.cmd)}\n{''.join(self.stderr_lines)}")
        self.port = line["port"]
        self.closed = False

    def _read_stdout(self):
        for raw in self.proc.stdout:
            msg = json.loads(raw)
            if "ready" in msg:
                self.ready.put(msg)
            elif "reply" in msg:
                self.replies.put(msg)
            else:
                msg["_t"] = time.monotonic()
                with self.cond:
                    self.events.append(msg)
                    self.cond.notify_all()
        self.ready.put(None)

    def _read_stderr(self):
        for line in self.proc.stderr:
            self.stderr_lines.append(line)

    # -- events --
    def find(self, name=None, **match):
        with self.cond:
            return [e for e in self.events
                    if (name is None or e["event"] == name) and all(e.get(k) == v for k, v in match.items())]

    def wait_event(self, name, timeout=10.0, count=1, **match):
        """Waits until count events named name (with the given parameter values) have been seen;
        returns the last of them."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                found = [e for e in self.events
                         if e["event"] == name and all(e.get(k) == v for k, v in match.items())]
                if len(found) >= count:
                    return found[count - 1]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {count}x {name} {match} within {timeout}s; events: "
                                         f"{[e['event'] for e in self.events][-40:]}")
                self.cond.wait(left)

    def connection_events(self, cid):
        """The events that name connection cid, in order (on_error names it in its text)."""
        with self.cond:
            return [e for e in self.events if e.get("connection_id") == cid or
                    (e["event"] == "on_error" and f"connection {cid}:" in e.get("description", ""))]

    # -- commands --
    def command(self, line, timeout=15.0):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        try:
            return self.replies.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no reply to {line!r} within {timeout}s")

    def pin(self, cid):
        reply = self.command(f"pin {cid}")
        assert reply["rc"] == 0, reply
        return reply["pinned"]

    def clients(self):
        reply = self.command("list")
        assert reply["rc"] == 0, reply
        return [line.split("|") for line in reply["text"].splitlines() if line]

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def threads(self):
        return len(os.listdir(f"/proc/{self.proc.pid}/task"))

    def close(self, timeout=20.0):
        """quit: frees the server; the exit status must be 0 and stderr free of sanitizer reports."""
        if self.closed:
            return
        self.closed = True
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.flush()
            self.proc.stdin.close()
        except (BrokenPipeError, ValueError):
            pass
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"server did not exit within {timeout}s of quit")
        time.sleep(0.05)  # let the stderr reader finish
        err = "".join(self.stderr_lines)
        assert not any(mark in err for mark in SANITIZER_MARKS), err[-6000:]
        assert rc == 0, f"server exit status {rc}\n{err[-4000:]}"


@pytest.fixture
def make_server(keys, tmp_path):
    """make_server(*args, host_keys=(...)) -> Server; all are closed (and checked) at teardown."""
    servers = []
    root = tmp_path / "root"
    root.mkdir()

    def make(*args, host_keys=("host_ed25519",), nofile=None):
        s = Server(args, root, keys, host_keys, nofile)
        servers.append(s)
        return s

    yield make
    errors = []
    for s in servers:
        try:
            s.close()
        except AssertionError as e:
            errors.append(str(e))
    if errors:
        pytest.fail("\n".join(errors))


# ---- clients ------------------------------------------------------------------------------------

def transport(port, host="127.0.0.1", timeout=10.0, **preferred):
    """A paramiko transport after the handshake (not yet authenticated). preferred: paramiko's
    own preference tuples by attribute name (_preferred_ciphers, _preferred_macs, _preferred_kex)."""
    sock = socket.create_connection((host, port), timeout=timeout)
    t = paramiko.Transport(sock)
    t.banner_timeout = timeout
    t.handshake_timeout = timeout
    for name, value in preferred.items():
        setattr(t, name, tuple(value))
    t.start_client(timeout=timeout)
    return t


def open_sftp(t):
    return paramiko.SFTPClient.from_transport(t)


def login(port, user, password=None, pkey=None, host="127.0.0.1", timeout=10.0, **preferred):
    """An authenticated transport and an SFTP client on it."""
    t = transport(port, host=host, timeout=timeout, **preferred)
    if pkey is not None:
        t.auth_publickey(user, pkey)
    if password is not None and not t.is_authenticated():
        t.auth_password(user, password)
    assert t.is_authenticated()
    return t, open_sftp(t)


def openssh_sftp(port, user, key, batch="ls\n", extra=(), timeout=30):
    """OpenSSH's sftp in batch mode with one identity and no config; returns CompletedProcess."""
    cmd = ["sftp", "-b", "-", "-P", str(port), "-F", "/dev/null", "-i", key,
           "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
           "-o", "IdentitiesOnly=yes", "-o", "PasswordAuthentication=no",
           "-o", "KbdInteractiveAuthentication=no", "-o", "LogLevel=ERROR", *extra, f"{user}@127.0.0.1"]
    return subprocess.run(cmd, input=batch, capture_output=True, text=True, timeout=timeout)


class HeldSftp:
    """OpenSSH's sftp kept open (batch from a pipe) so the session can be pinned; finish() sends
    the rest of the batch and waits."""

    def __init__(self, server, port, user, key, extra=()):
        self.server = server
        established = len(server.find("on_session_established"))
        self.proc = subprocess.Popen(
            ["sftp", "-b", "-", "-P", str(port), "-F", "/dev/null", "-i", key,
             "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
             "-o", "IdentitiesOnly=yes", "-o", "LogLevel=ERROR", *extra, f"{user}@127.0.0.1"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        ev = server.wait_event("on_session_established", count=established + 1, timeout=15)
        self.connection_id = ev["connection_id"]

    def finish(self, batch="ls\n"):
        out, err = self.proc.communicate(batch, timeout=30)
        return self.proc.returncode, out, err


def last_connection_id(server, timeout=10.0):
    """The newest connection's id. The server fires on_connect before it sends its banner, but the
    thread that reads its event lines can lag behind the socket: wait for the first one."""
    server.wait_event("on_connect", timeout=timeout)
    return server.find("on_connect")[-1]["connection_id"]
