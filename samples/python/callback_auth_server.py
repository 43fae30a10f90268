#!/usr/bin/python3
"""An SFTP server whose users and passwords come from your own code, not from the server's user
list: the on_auth_password handler decides. Here the "user database" is a dict of salted
PBKDF2 hashes; replace check_password() with a call to LDAP, a database, an API...

Run (after `make`, from the repository root):

    PYTHONPATH=build/python /usr/bin/python3 samples/python/callback_auth_server.py --root ./sftp-root

then `sftp -P 2222 alice@127.0.0.1` (password s3cret) or bob (password hunter2).
`--self-test` starts the server on a free port, logs in with paramiko, checks a wrong password
is refused, and exits 0 on success.
"""
import argparse
import hashlib
import hmac
import logging
import os
import signal
import socket
import sys
import tempfile
import threading

from sftpkit import SFTPServer, SSHKey, atPassword

log = logging.getLogger("callback-auth")


def make_hash(password, salt=None):
    salt = salt or os.urandom(16)
    return salt, hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, 100_000)


# The application's own user table: user -> (salt, hash, home directory under the root).
USERS = {
    "alice": make_hash("s3cret") + ("alice",),
    "bob": make_hash("hunter2") + ("bob",),
}


def check_password(username, password):
    entry = USERS.get(username)
    if entry is None:
        return False
    salt, digest, _ = entry
    return hmac.compare_digest(make_hash(password, salt)[1], digest)


def build_server(root, host, port, host_key_file=None):
    key = SSHKey()
    if host_key_file and os.path.exists(host_key_file):
        key.import_file(host_key_file)
    else:
        key.generate("ssh-ed25519")
    srv = SFTPServer()
    srv.server_key_count = 1
    srv.set_server_key_handle(0, key.handle)
    key.close()  # the server keeps its own copy
    srv.host, srv.port = host, port
    srv.base_dir = os.path.abspath(root)
    srv.auth_types = atPassword

    # Each user gets a home directory of its own: the server's user list only carries the
    # per-user root (user_base_path); passwords are checked by the handler below.
    srv.user_count = len(USERS)
    for i, (name, (_, _, home)) in enumerate(sorted(USERS.items())):
        os.makedirs(os.path.join(root, home), exist_ok=True)
        srv.set_user_username(i, name)
        srv.set_user_base_path(i, os.path.abspath(os.path.join(root, home)))

    def on_auth_password(p):
        # Runs on a server thread. params.accept starts as the server's own verdict (no
        # password in the list: False); this handler has the last word.
        p.accept = check_password(p.username, p.password)
        log.info("password login %s for %r from connection %d", "accepted" if p.accept else "refused",
                 p.username, p.connection_id)

    def on_connect(p):
        log.info("connection %d from %s:%d", p.connection_id, p.remote_address, p.remote_port)

    def on_disconnect(p):
        log.info("connection %d closed", p.connection_id)

    srv.on_auth_password = on_auth_password
    srv.on_connect = on_connect
    srv.on_disconnect = on_disconnect
    return srv


def self_test():
    import paramiko
    logging.getLogger("paramiko").setLevel(logging.CRITICAL)
    with tempfile.TemporaryDirectory() as root:
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        with build_server(root, "127.0.0.1", port) as srv:
            srv.start()
            t = paramiko.Transport(("127.0.0.1", port))
            t.connect(username="alice", password="s3cret")
            sftp = paramiko.SFTPClient.from_transport(t)
            with sftp.open("hello.txt", "w") as f:
                f.write("hi from the self-test\n")
            assert sftp.listdir("/") == ["hello.txt"]
            t.close()
            assert os.path.exists(os.path.join(root, "alice", "hello.txt"))
            t = paramiko.Transport(("127.0.0.1", port))
            try:
                t.connect(username="bob", password="wrong")
                raise AssertionError("a wrong password was accepted")
            except paramiko.AuthenticationException:
                pass
            finally:
                t.close()
        srv.close()
    print("callback_auth_server self-test: ok")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", default="./sftp-root")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=2222)
    ap.add_argument("--host-key", help="host key file to import (a fresh Ed25519 key when missing)")
    ap.add_argument("--self-test", action="store_true")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    if args.self_test:
        return self_test()
    os.makedirs(args.root, exist_ok=True)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *a: stop.set())
    signal.signal(signal.SIGTERM, lambda *a: stop.set())
    with build_server(args.root, args.host, args.port, args.host_key) as srv:
        srv.start()
        print("serving %s on %s:%d (users: %s); Ctrl-C stops" % (
            os.path.abspath(args.root), args.host, args.port, ", ".join(sorted(USERS))), flush=True)
        while not stop.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
