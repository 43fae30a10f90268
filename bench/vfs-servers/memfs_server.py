#!/usr/bin/python3
"""The Python binding's in-memory file system for bench/vfs-bench (issue 14 item 6): the same
command line as the C sample sftpkit-memfs, so the bench drives every language alike.

  PYTHONPATH=build/python memfs_server.py --port P --user U:PW --seed /data.bin:MIB
      [--latency-ms N] [--workers N] [--async] [--native ROOT] [--host-key FILE]

Files live in the binding's MemoryFileSystem (64 KiB pages, one store for every session); --latency-ms makes every
read and write wait (a remote back-end), in the handler (a worker thread) or, with --async, in
an async def awaited on an event loop; --native ROOT serves ROOT through base_dir instead (the
same process, no provider). Stops on SIGTERM. Not a sample: no comments for users beyond this."""
import argparse
import asyncio
import signal
import sys
import threading
import time

from sftpkit import MemoryFileSystem, SFTPServer, SSHKey


class MemFS(MemoryFileSystem):
    """The binding's MemoryFileSystem, one store for every session; with --latency-ms every read
    and write waits first (a remote back-end), on the worker thread that runs it."""

    def __init__(self, latency_s):
        super().__init__(max_total_bytes=8 << 30)
        self.latency_s = latency_s

    def read(self, handle, offset, size):
        if self.latency_s:
            time.sleep(self.latency_s)
        return super().read(handle, offset, size)

    def write(self, handle, offset, data):
        if self.latency_s:
            time.sleep(self.latency_s)
        super().write(handle, offset, data)


class AsyncMemFS(MemFS):
    async def read(self, handle, offset, size):
        await asyncio.sleep(self.latency_s)
        return MemoryFileSystem.read(self, handle, offset, size)

    async def write(self, handle, offset, data):
        await asyncio.sleep(self.latency_s)
        MemoryFileSystem.write(self, handle, offset, data)


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
    fs = (AsyncMemFS if a.use_async else MemFS)(a.latency_ms / 1000)
    for seed in a.seed:
        path, mib = seed.rsplit(":", 1)
        fs.write_all_bytes(path, bytes(range(256)) * (int(mib) << 12))
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
    else:
        srv.set_provider(lambda session: fs)
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
