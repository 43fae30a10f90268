#!/usr/bin/python3
"""An SFTP server whose files live in a Python dict: no directory on disk at all. Every file
request is handed to the application (on_before_* answers fraCustom) and served by the file
events: on_open_file / on_read_file / on_write_file / on_close_file for data, on_find_first /
on_find_next / on_find_close for listings, on_request_attributes for stat, and
on_create_directory / on_remove / on_rename_file for the rest.

Run (after `make`, from the repository root):

    PYTHONPATH=build/python /usr/bin/python3 samples/python/memory_fs_server.py

then `sftp -P 2222 demo@127.0.0.1` (password demo). Everything is gone when it stops.
`--self-test` exercises it with paramiko and exits 0 on success.
"""
import argparse
import logging
import posixpath
import signal
import socket
import sys
import threading

import sftpkit
from sftpkit import SFTPServer, SSHKey

log = logging.getLogger("memory-fs")


class MemoryFS:
    """Files (path -> bytearray) and directories (a set of paths); "/" always exists. Handlers run
    on server threads, one per connection, so every access takes the lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.files = {"/README.txt": bytearray(b"This file system lives in a Python dict.\n")}
        self.dirs = {"/"}
        self.open_files = {}  # handle -> path
        self.listings = {}    # handle -> remaining child paths
        # handles are keys of open_files/listings across every session: one lock-protected counter
        # (a bare `+= 1` from two session threads can hand out the same number twice)
        self.counter = 0
        self.counter_lock = threading.Lock()
        self.srv = None

    @staticmethod
    def norm(path):
        return posixpath.normpath("/" + (path or "")).replace("//", "/")

    def children(self, d):
        prefix = d.rstrip("/") + "/"
        return sorted(p for p in list(self.files) + list(self.dirs)
                      if p != d and p.startswith(prefix) and "/" not in p[len(prefix):])

    def next_handle(self, kind):
        with self.counter_lock:
            self.counter += 1
            n = self.counter
        return "%s-%d" % (kind, n)

    # ---- the event handlers ----------------------------------------------------------------
    def custom(self, p):
        p.action = sftpkit.fraCustom  # "the application does it" for every on_before_* event

    def on_open_file(self, p):
        path, modes = self.norm(p.path), p.modes
        writing = modes & (sftpkit.cfmWrite | sftpkit.cfmAppend | sftpkit.cfmCreate | sftpkit.cfmTruncate |
                           sftpkit.cfmOpenOrCreate)
        with self.lock:
            if path in self.dirs:
                p.operation_status = sftpkit.ostAccessDenied
                return
            if writing:
                if posixpath.dirname(path) not in self.dirs:
                    p.operation_status = sftpkit.ostNoSuchFile
                    return
                if modes & sftpkit.cfmExcl and path in self.files:
                    p.operation_status = sftpkit.ostAccessDenied
                    return
                if path not in self.files or modes & sftpkit.cfmTruncate:
                    self.files[path] = bytearray()
            elif path not in self.files:
                p.operation_status = sftpkit.ostNoSuchFile
                return
            p.handle = self.next_handle("file")  # our own handle; later events get it
            self.open_files[p.handle] = path
            p.operation_status = sftpkit.ostOk

    def on_read_file(self, p):
        with self.lock:
            data = self.files.get(self.open_files.get(p.handle))
            if data is None:
                p.operation_status = sftpkit.ostNoSuchFile
                return
            chunk = bytes(data[p.offset:p.offset + p.size])
        if not chunk:
            p.operation_status = sftpkit.ostEOF
            return
        self.srv.set_client_buffer(p.connection_id, p.handle, chunk)  # the data of this READ
        p.operation_status = sftpkit.ostOk

    def on_write_file(self, p):
        chunk = self.srv.get_client_buffer(p.connection_id, p.handle)  # the data of this WRITE
        with self.lock:
            data = self.files.get(self.open_files.get(p.handle))
            if data is None:
                p.operation_status = sftpkit.ostNoSuchFile
                return
            if len(data) < p.offset:
                data.extend(b"\0" * (p.offset - len(data)))
            data[p.offset:p.offset + len(chunk)] = chunk
        p.operation_status = sftpkit.ostOk

    def on_close_file(self, p):
        with self.lock:
            found = self.open_files.pop(p.handle, None) is not None
        p.operation_status = sftpkit.ostOk if found else sftpkit.ostNoSuchFile

    def describe(self, path, connection_id, handle):
        """Fills client_file_entry_* and commits it to the request being served."""
        is_dir, srv = path in self.dirs, self.srv
        srv.client_file_entry_name = posixpath.basename(path) or "/"
        srv.client_file_entry_path = path
        srv.client_file_entry_directory = is_dir
        srv.client_file_entry_file_type = sftpkit.cftDirectory if is_dir else sftpkit.cftFile
        srv.client_file_entry_size = 0 if is_dir else len(self.files[path])
        srv.client_file_entry_user_read = srv.client_file_entry_user_write = True
        srv.set_client_file_entry(connection_id, handle)

    def on_request_attributes(self, p):
        with self.lock:
            path = self.norm(p.path) if p.path else self.open_files.get(p.handle)
            if path is None or (path not in self.files and path not in self.dirs):
                p.operation_status = sftpkit.ostNoSuchFile
                return
            self.describe(path, p.connection_id, p.handle)
        p.operation_status = sftpkit.ostOk

    def on_set_attributes(self, p):
        with self.lock:
            path = self.norm(p.path) if p.path else self.open_files.get(p.handle)
            ok = path in self.files or path in self.dirs
        p.operation_status = sftpkit.ostOk if ok else sftpkit.ostNoSuchFile  # attributes are not kept

    def on_find_first(self, p):
        path = self.norm(p.path)
        with self.lock:
            if path not in self.dirs:
                p.operation_status = sftpkit.ostNoSuchFile
                return
            p.handle = self.next_handle("list")
            self.listings[p.handle] = self.children(path)
        self.on_find_next(p)

    def on_find_next(self, p):
        # One entry per event; ostEOF ends the listing (without it the server keeps asking).
        with self.lock:
            remaining = self.listings.get(p.handle)
            if not remaining:
                p.operation_status = sftpkit.ostEOF
                return
            self.describe(remaining.pop(0), p.connection_id, p.handle)
        p.operation_status = sftpkit.ostOk

    def on_find_close(self, p):
        with self.lock:
            self.listings.pop(p.handle, None)
        p.operation_status = sftpkit.ostOk

    def on_create_directory(self, p):
        path = self.norm(p.path)
        with self.lock:
            if path in self.dirs or path in self.files:
                p.operation_status = sftpkit.ostAccessDenied
            elif posixpath.dirname(path) not in self.dirs:
                p.operation_status = sftpkit.ostNoSuchFile
            else:
                self.dirs.add(path)
                p.operation_status = sftpkit.ostOk

    def on_remove(self, p):
        path = self.norm(p.path)
        with self.lock:
            if path in self.files:
                del self.files[path]
                p.operation_status = sftpkit.ostOk
            elif path in self.dirs and path != "/" and not self.children(path):
                self.dirs.discard(path)
                p.operation_status = sftpkit.ostOk
            else:
                p.operation_status = sftpkit.ostNoSuchFile if path not in self.dirs else sftpkit.ostAccessDenied

    def on_rename_file(self, p):
        old, new = self.norm(p.old_path), self.norm(p.new_path)
        with self.lock:
            if old not in self.files and old not in self.dirs:
                p.operation_status = sftpkit.ostNoSuchFile
            elif new in self.files or new in self.dirs or posixpath.dirname(new) not in self.dirs:
                p.operation_status = sftpkit.ostAccessDenied
            else:
                move = lambda x: new + x[len(old):] if x == old or x.startswith(old + "/") else x  # noqa: E731
                self.files = {move(k): v for k, v in self.files.items()}
                self.dirs = {move(d) for d in self.dirs}
                p.operation_status = sftpkit.ostOk


def build_server(host, port, fs):
    key = SSHKey()
    key.generate("ssh-ed25519")
    srv = SFTPServer()
    srv.server_key_count = 1
    srv.set_server_key_handle(0, key.handle)
    key.close()
    fs.srv = srv  # the handlers call back into it (set_client_buffer, set_client_file_entry)
    srv.host, srv.port = host, port
    # No base_dir: there is no local file system; every request goes to the handlers.
    srv.user_count = 1
    srv.set_user_username(0, "demo")
    srv.set_user_password(0, "demo")
    for name in ("on_before_create_directory", "on_before_download_file", "on_before_find", "on_before_remove",
                 "on_before_rename_file", "on_before_request_attributes", "on_before_set_attributes",
                 "on_before_upload_file"):
        setattr(srv, name, fs.custom)
    for name in ("on_open_file", "on_read_file", "on_write_file", "on_close_file", "on_request_attributes",
                 "on_set_attributes", "on_find_first", "on_find_next", "on_find_close", "on_create_directory",
                 "on_remove", "on_rename_file"):
        setattr(srv, name, getattr(fs, name))
    return srv


def self_test():
    import paramiko
    logging.getLogger("paramiko").setLevel(logging.CRITICAL)
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    fs = MemoryFS()
    with build_server("127.0.0.1", port, fs) as server:
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
        sftp.rename("/docs/big.bin", "/big.bin")
        sftp.remove("/big.bin")
        sftp.rmdir("/docs")
        t.close()
        assert set(fs.files) == {"/README.txt"} and fs.dirs == {"/"}
    server.close()
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
    with build_server(args.host, args.port, MemoryFS()) as server:
        server.start()
        print("in-memory file system on %s:%d (user demo / demo); Ctrl-C stops" % (args.host, args.port), flush=True)
        while not stop.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
