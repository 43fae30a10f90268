#!/usr/bin/python3
"""An SFTP server whose files live in a Python dict: no directory on disk at all. A FileSystem
subclass (sftpkit.provider) answers each request; srv.set_provider() installs the file events.

Run (after `make`, from the repository root):

    PYTHONPATH=build/python /usr/bin/python3 samples/python/memory_fs_server.py

then `sftp -P 2222 demo@127.0.0.1` (password demo). Everything is gone when it stops.
`--self-test` exercises it with paramiko and exits 0 on success.
"""
import argparse
import logging
import posixpath
import signal
import sys
import threading

from sftpkit import FileAttributes, FileSystem, OperationStatus, SFTPError, SFTPServer, SSHKey, cfmTruncate, cfmWrite


class Tree:
    """The files every session sees (path -> bytearray) and the directories; one lock, because
    sessions run on their own server threads at the same time."""

    def __init__(self):
        self.lock = threading.Lock()
        self.files = {"/README.txt": bytearray(b"This file system lives in a Python dict.\n")}
        self.dirs = {"/"}


class MemoryFS(FileSystem):
    """One session's view of the shared Tree. open() returns the path: read/write get it back."""

    def __init__(self, tree):
        self.t = tree

    def _need(self, path, kind):
        if path not in (self.t.dirs if kind == "dir" else self.t.files):
            raise SFTPError(OperationStatus.NO_SUCH_FILE, "no such %s: %s" % (kind, path))

    def stat(self, path):
        with self.t.lock:
            if path in self.t.dirs:
                return FileAttributes.directory()
            self._need(path, "file")
            return FileAttributes.file(size=len(self.t.files[path]))

    def list(self, path):
        with self.t.lock:
            self._need(path, "dir")
            kids = [p for p in list(self.t.files) + list(self.t.dirs)
                    if p != path and posixpath.dirname(p) == path]
        for p in sorted(kids):
            entry = self.stat(p)
            entry.name = posixpath.basename(p)
            yield entry

    def open(self, path, flags):
        with self.t.lock:
            if flags & cfmWrite:
                self._need(posixpath.dirname(path), "dir")
                if flags & cfmTruncate or path not in self.t.files:
                    self.t.files[path] = bytearray()
            self._need(path, "file")
        return path

    def read(self, path, offset, size):
        with self.t.lock:
            return bytes(self.t.files[path][offset:offset + size])

    def write(self, path, offset, data):
        with self.t.lock:
            f = self.t.files[path]
            f.extend(b"\0" * max(0, offset - len(f)))
            f[offset:offset + len(data)] = data  # copies out of the reused buffer

    def setstat(self, path, attrs):
        self.stat(path)  # attributes are not kept; the path must exist

    def mkdir(self, path):
        with self.t.lock:
            if path in self.t.dirs or path in self.t.files:
                raise SFTPError(OperationStatus.ACCESS_DENIED, "%s exists" % path)
            self._need(posixpath.dirname(path), "dir")
            self.t.dirs.add(path)

    def rmdir(self, path):
        with self.t.lock:
            if any(posixpath.dirname(p) == path for p in list(self.t.files) + list(self.t.dirs) if p != "/"):
                raise SFTPError(OperationStatus.ACCESS_DENIED, "%s is not empty" % path)
            self.t.dirs.discard(path)

    def remove(self, path):
        with self.t.lock:
            self._need(path, "file")
            del self.t.files[path]

    def rename(self, old, new):
        with self.t.lock:
            if new in self.t.files or new in self.t.dirs:
                raise SFTPError(OperationStatus.ACCESS_DENIED, "%s exists" % new)
            self._need(old, "file")  # files only: enough for a sample
            self.t.files[new] = self.t.files.pop(old)


def build_server(host, port, tree):
    key = SSHKey()
    key.generate("ssh-ed25519")
    srv = SFTPServer()
    srv.server_key_count = 1
    srv.set_server_key_handle(0, key.handle)
    key.close()
    srv.host, srv.port = host, port  # no base_dir: every request goes to the provider
    srv.user_count = 1
    srv.set_user_username(0, "demo")
    srv.set_user_password(0, "demo")
    srv.set_provider(lambda session: MemoryFS(tree))
    return srv


def self_test():
    import paramiko
    import socket
    logging.getLogger("paramiko").setLevel(logging.CRITICAL)
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    tree = Tree()
    with build_server("127.0.0.1", port, tree) as server:
        server.start()
        t = paramiko.Transport(("127.0.0.1", port))
        t.connect(username="demo", password="demo")
        sftp = paramiko.SFTPClient.from_transport(t)
        sftp.mkdir("/docs")
        payload = b"0123456789" * 50000
        with sftp.open("/docs/big.bin", "wb") as f:
            f.write(payload)
        with sftp.open("/docs/big.bin", "rb") as f:
            assert f.read() == payload
        assert sorted(sftp.listdir("/")) == ["README.txt", "docs"]
        assert sftp.stat("/docs/big.bin").st_size == len(payload)
        try:
            sftp.rmdir("/docs")
            raise AssertionError("a non-empty directory was removed")
        except IOError as e:
            assert "not empty" in str(e), e  # the provider's own message reached the client
        sftp.rename("/docs/big.bin", "/big.bin")
        sftp.remove("/big.bin")
        sftp.rmdir("/docs")
        t.close()
    assert set(tree.files) == {"/README.txt"} and tree.dirs == {"/"}
    print("memory_fs_server self-test: ok")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=2222)
    ap.add_argument("--self-test", action="store_true")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    if args.self_test:
        return self_test()
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    with build_server(args.host, args.port, Tree()) as server:
        server.start()
        print("in-memory file system on %s:%d (user demo / demo); Ctrl-C stops" % (args.host, args.port), flush=True)
        while not stop.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
