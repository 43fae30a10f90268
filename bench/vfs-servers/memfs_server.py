#!/usr/bin/python3
"""The Python binding's in-memory file system for bench/vfs-bench (issue 14 item 6): the same
command line as the C sample sftpkit-memfs, so the bench drives every language alike.

  PYTHONPATH=build/python memfs_server.py --port P --user U:PW --seed /data.bin:MIB
      [--latency-ms N] [--workers N] [--async] [--native ROOT] [--host-key FILE]

Files live in a dict behind the provider layer (sftpkit.FileSystem); --latency-ms makes every
read and write wait (a remote back-end), in the handler (a worker thread) or, with --async, in
an async def awaited on an event loop; --native ROOT serves ROOT through base_dir instead (the
same process, no provider). Stops on SIGTERM. Not a sample: no comments for users beyond this."""
import argparse
import asyncio
import signal
import sys
import threading
import time

from sftpkit import FileAttributes, FileSystem, OperationStatus, SFTPError, SFTPServer, SSHKey, cfmTruncate, cfmWrite


class Blob:
    """One file: a bytearray whose length is the capacity, and the file's size. Truncation keeps
    the capacity, so a second upload of a file writes into memory already touched: a fresh
    bytearray per upload made every 4 KiB page fault on first touch (a third of the server's CPU
    in this VM), which measures the store, not the binding."""

    def __init__(self, data=b""):
        self.buf, self.size = bytearray(data), len(data)

    def view(self, offset, size):
        return memoryview(self.buf)[offset:min(offset + size, self.size)] if offset < self.size else b""

    def write(self, offset, data):
        end = offset + len(data)
        if end > len(self.buf):
            self.buf.extend(bytes(max(end, 2 * len(self.buf)) - len(self.buf)))
        if offset > self.size:  # a gap after the old end reads as zeros
            self.buf[self.size:offset] = bytes(offset - self.size)
        self.buf[offset:end] = data  # same length: in place
        self.size = max(self.size, end)


class Store:
    def __init__(self):
        self.lock = threading.Lock()
        self.files = {}


class MemFS(FileSystem):
    def __init__(self, store, latency_s):
        self.s, self.latency_s = store, latency_s

    def stat(self, path):
        if path == "/":
            return FileAttributes.directory()
        with self.s.lock:
            if path not in self.s.files:
                raise SFTPError(OperationStatus.NO_SUCH_FILE, path)
            return FileAttributes.file(size=self.s.files[path].size)

    def list(self, path):
        with self.s.lock:
            names = sorted(self.s.files)
            return [FileAttributes.file(name=p[1:], size=self.s.files[p].size) for p in names] if path == "/" else []

    def open(self, path, flags):
        with self.s.lock:
            if flags & cfmWrite and path not in self.s.files:
                self.s.files[path] = Blob()
            if path not in self.s.files:
                raise SFTPError(OperationStatus.NO_SUCH_FILE, path)
            f = self.s.files[path]
            if flags & cfmWrite and flags & cfmTruncate:
                f.size = 0
            return f

    def read(self, f, offset, size):
        if self.latency_s:
            time.sleep(self.latency_s)
        return f.view(offset, size)

    def write(self, f, offset, data):
        if self.latency_s:
            time.sleep(self.latency_s)
        f.write(offset, data)


class AsyncMemFS(MemFS):
    async def read(self, f, offset, size):
        await asyncio.sleep(self.latency_s)
        return f.view(offset, size)

    async def write(self, f, offset, data):
        await asyncio.sleep(self.latency_s)
        f.write(offset, data)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--user", required=True)
    ap.add_argument("--seed", action="append", default=[])
    ap.add_argument("--latency-ms", type=int, default=0)
    ap.add_argument("--workers", type=int)
    ap.add_argument("--async", dest="use_async", action="store_true")
    ap.add_argument("--deferred", dest="use_async", action="store_true")  # sftpkit-memfs's spelling
    ap.add_argument("--native")
    ap.add_argument("--authorized-key")
    a = ap.parse_args()
    user, password = a.user.split(":", 1)
    store = Store()
    for seed in a.seed:
        path, mib = seed.rsplit(":", 1)
        store.files[path] = Blob(bytes(range(256)) * (int(mib) << 12))
    key = SSHKey()
    key.generate("ssh-ed25519")
    srv = SFTPServer()
    srv.server_key_count = 1
    srv.set_server_key_handle(0, key.handle)
    srv.host, srv.port = "127.0.0.1", a.port
    srv.user_count = 1
    srv.set_user_username(0, user)
    srv.set_user_password(0, password)
    if a.workers is not None:
        srv.config("WorkerThreads=%d" % a.workers)
    if a.native:
        srv.base_dir = a.native
    elif a.use_async:
        srv.set_provider(lambda session: AsyncMemFS(store, a.latency_ms / 1000))
    else:
        srv.set_provider(lambda session: MemFS(store, a.latency_ms / 1000))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with srv:
        srv.start()
        while not stop.wait(0.2):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
