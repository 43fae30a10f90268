#!/usr/bin/python3
"""SFTP in front of an object store: each user sees only the objects under "<user>/" of a bucket,
uploads become one PUT when the client closes the file, downloads are ranged GETs, and
"directories" are key prefixes (as in S3). The bucket here is an in-process stand-in with a
configurable latency; replace Bucket with your store's client (boto3, google-cloud-storage...).

Run (after `make`, from the repository root):

    PYTHONPATH=build/python /usr/bin/python3 samples/python/object_store_server.py [--latency-ms 20]

then `sftp -P 2222 alice@127.0.0.1` (password alice, or bob/bob). `--self-test` checks it with
paramiko and exits 0 on success.
"""
import argparse
import logging
import signal
import sys
import threading
import time

from sftpkit import FileAttributes, FileSystem, OperationStatus, SFTPError, SFTPServer, SSHKey, cfmWrite


class Bucket:
    """A flat key -> bytes store with object-store semantics: whole-object PUT, ranged GET."""

    def __init__(self, latency_ms=0):
        self.lock, self.objects, self.latency = threading.Lock(), {}, latency_ms / 1000.0

    def put(self, key, data):
        time.sleep(self.latency)
        with self.lock:
            self.objects[key] = bytes(data)

    def get(self, key, offset=0, size=None):
        time.sleep(self.latency)
        with self.lock:
            data = self.objects[key]  # KeyError -> "no such file" (see stat/open)
        return data[offset:] if size is None else data[offset:offset + size]

    def keys(self, prefix):
        with self.lock:
            return sorted(k for k in self.objects if k.startswith(prefix))

    def delete(self, key):
        with self.lock:
            self.objects.pop(key, None)


class Upload:
    """An object being written: SFTP may write at any offset, the store only takes whole objects."""

    def __init__(self, key):
        self.key, self.data = key, bytearray()


class ObjectStoreFS(FileSystem):
    def __init__(self, session, bucket):
        self.bucket, self.prefix = bucket, session.user + "/"  # per-session state: the user's prefix

    def _key(self, path):
        return self.prefix + path.lstrip("/")

    def stat(self, path):
        key = self._key(path)
        if path == "/" or self.bucket.keys(key.rstrip("/") + "/"):
            return FileAttributes.directory()  # a prefix with objects under it (or a marker)
        try:
            return FileAttributes.file(size=len(self.bucket.get(key)))
        except KeyError:
            raise SFTPError(OperationStatus.NO_SUCH_FILE, "no object %s" % path) from None

    def list(self, path):
        base = self._key(path).rstrip("/") + "/" if path != "/" else self.prefix
        seen = set()
        for key in self.bucket.keys(base):
            name, _, rest = key[len(base):].partition("/")
            if name and name not in seen:
                seen.add(name)
                yield FileAttributes.directory(name) if rest or key.endswith("/") else \
                    FileAttributes.file(name, size=len(self.bucket.get(key)))

    def open(self, path, flags):
        if flags & cfmWrite:
            return Upload(self._key(path))
        self.stat(path)
        return self._key(path)

    def read(self, key, offset, size):
        return self.bucket.get(key, offset, size)

    def write(self, upload, offset, data):
        upload.data[offset:offset + len(data)] = data

    def close(self, handle):
        if isinstance(handle, Upload):
            self.bucket.put(handle.key, handle.data)  # the one PUT

    def setstat(self, path, attrs):
        self.stat(path)  # object stores keep no mode or times: accepted, not stored

    def mkdir(self, path):
        self.bucket.put(self._key(path) + "/", b"")  # a marker object, as S3 consoles make

    def rmdir(self, path):
        base = self._key(path) + "/"
        if [k for k in self.bucket.keys(base) if k != base]:
            raise SFTPError(OperationStatus.ACCESS_DENIED, "%s is not empty" % path)
        self.bucket.delete(base)

    def remove(self, path):
        self.stat(path)
        self.bucket.delete(self._key(path))

    def rename(self, old, new):  # copy + delete: object stores have no rename
        self.bucket.put(self._key(new), self.bucket.get(self._key(old)))
        self.bucket.delete(self._key(old))


def build_server(host, port, bucket):
    key = SSHKey()
    key.generate("ssh-ed25519")
    srv = SFTPServer()
    srv.server_key_count = 1
    srv.set_server_key_handle(0, key.handle)
    key.close()
    srv.host, srv.port = host, port
    srv.on_auth_password = lambda p: setattr(p, "accept", p.username in ("alice", "bob") and p.password == p.username)
    srv.set_provider(lambda session: ObjectStoreFS(session, bucket))
    return srv


def self_test():
    import socket
    import paramiko
    logging.getLogger("paramiko").setLevel(logging.CRITICAL)
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    bucket = Bucket(latency_ms=2)
    with build_server("127.0.0.1", port, bucket) as srv:
        srv.start()
        for user in ("alice", "bob"):
            t = paramiko.Transport(("127.0.0.1", port))
            t.connect(username=user, password=user)
            c = paramiko.SFTPClient.from_transport(t)
            c.mkdir("/reports")
            payload = (user * 40000).encode()
            with c.open("/reports/q1.txt", "wb") as f:
                f.write(payload)
            with c.open("/reports/q1.txt", "rb") as f:
                assert f.read() == payload
            assert c.listdir("/") == ["reports"] and c.listdir("/reports") == ["q1.txt"]
            c.rename("/reports/q1.txt", "/reports/final.txt")
            t.close()
    assert bucket.keys("") == ["alice/reports/", "alice/reports/final.txt", "bob/reports/", "bob/reports/final.txt"]
    print("object_store_server self-test: ok")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=2222)
    ap.add_argument("--latency-ms", type=int, default=0, help="simulated store latency per request")
    ap.add_argument("--self-test", action="store_true")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    if args.self_test:
        return self_test()
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    with build_server(args.host, args.port, Bucket(args.latency_ms)) as srv:
        srv.start()
        print("object store on %s:%d (alice/alice, bob/bob); Ctrl-C stops" % (args.host, args.port), flush=True)
        while not stop.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
