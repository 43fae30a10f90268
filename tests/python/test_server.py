"""The binding against the real transport: Python handlers on server threads under 20 concurrent
paramiko clients (the GIL taken and released correctly), a virtual upload through the file
events, and stopping while clients are connected."""
import logging
import os
import threading

import paramiko
import pytest

import sftpkit
from sftpkit import SFTPServer, SSHKey

from conftest import free_port, host_keyed_server

logging.getLogger("paramiko").setLevel(logging.CRITICAL)


@pytest.fixture
def server(tmp_path):
    srv = host_keyed_server()
    srv.base_dir = str(tmp_path)
    yield srv
    srv.close()


def connect(srv, user, password):
    t = paramiko.Transport(("127.0.0.1", srv.port))
    t.banner_timeout = t.auth_timeout = 30
    t.connect(username=user, password=password)
    return t, paramiko.SFTPClient.from_transport(t)


def test_twenty_clients_with_python_auth(server, tmp_path):
    # 20 handshakes at once from one address is a burst the default admission control
    # (PerSourceMaxStartups 8, MaxStartups 10:30:100) refuses in part, by design (docs/security.md).
    server.config("MaxStartups=0")
    server.config("PerSourceMaxStartups=0")
    lock = threading.Lock()
    logins, threads = [], set()

    def on_auth_password(p):
        ok = p.username.startswith("user") and p.password == "pw-" + p.username
        p.accept = ok
        with lock:
            logins.append((p.username, ok))
            threads.add(threading.get_ident())

    def on_before_upload_file(p):
        if p.path.endswith(".exe"):
            p.action = sftpkit.fraAbort

    server.on_auth_password = on_auth_password
    server.on_before_upload_file = on_before_upload_file
    server.on_connect = lambda p: None  # more traffic through the trampoline
    server.start()
    errors = []

    def client(n):
        try:
            t, sftp = connect(server, "user%d" % n, "pw-user%d" % n)
            with sftp.open("f%d.txt" % n, "w") as f:
                f.write("client %d\n" % n * 100)
            with pytest.raises(PermissionError):
                with sftp.open("bad%d.exe" % n, "w") as f:
                    f.write("x")
            assert sftp.stat("f%d.txt" % n).st_size == len("client %d\n" % n * 100)
            t.close()
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append((n, repr(e)))

    workers = [threading.Thread(target=client, args=(n,)) for n in range(20)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
    assert not any(w.is_alive() for w in workers)
    assert errors == []
    assert len(logins) == 20 and all(ok for _, ok in logins)
    assert threading.get_ident() not in threads
    assert sorted(os.listdir(tmp_path)) == sorted("f%d.txt" % n for n in range(20))


def test_wrong_password_and_failing_handler(server, caplog):
    def on_auth_password(p):
        if p.username == "crash":
            raise RuntimeError("auth backend down")
        p.accept = p.password == "right"

    server.on_auth_password = on_auth_password
    server.start()
    t, _ = connect(server, "u", "right")
    t.close()
    for user, pw in (("u", "wrong"), ("crash", "right")):
        with pytest.raises(paramiko.AuthenticationException):
            connect(server, user, pw)
    assert "auth backend down" in caplog.text


def test_virtual_upload_through_file_events(server):
    store, lock = {}, threading.Lock()
    server.base_dir = ""

    def custom(p):
        p.action = sftpkit.fraCustom

    def on_open_file(p):
        with lock:
            store[p.path] = bytearray()
        p.handle = "h:" + p.path
        p.operation_status = sftpkit.ostOk

    def on_write_file(p):
        data = server.get_client_buffer(p.connection_id, p.handle)
        with lock:
            buf = store[p.handle[2:]]
            buf[p.offset:p.offset + len(data)] = data
        p.operation_status = sftpkit.ostOk

    server.user_count = 1
    server.set_user_username(0, "v")
    server.set_user_password(0, "v")
    server.on_before_upload_file = custom
    server.on_open_file = on_open_file
    server.on_write_file = on_write_file
    server.on_close_file = lambda p: setattr(p, "operation_status", sftpkit.ostOk)
    server.start()
    t, sftp = connect(server, "v", "v")
    payload = os.urandom(300000)
    with sftp.open("/mem.bin", "wb") as f:
        f.write(payload)
    t.close()
    assert bytes(store["/mem.bin"]) == payload


def test_stop_and_close_with_clients_connected(server):
    server.user_count = 1
    server.set_user_username(0, "a")
    server.set_user_password(0, "a")
    disconnects = []
    server.on_disconnect = lambda p: disconnects.append(p.connection_id)
    server.start()
    clients = [connect(server, "a", "a") for _ in range(5)]
    assert len(server.list_clients().splitlines()) == 5
    with server:
        pass  # __exit__ stops and closes
    assert server.closed
    assert len(disconnects) == 5
    for t, _ in clients:
        t.close()


def test_stop_from_inside_a_handler(server):
    done, finished = [], threading.Event()

    def on_auth_password(p):
        p.accept = True
        server.stop()  # waits for every connection but this handler's own
        done.append(server.active)
        finished.set()

    server.on_auth_password = on_auth_password
    server.start()
    # the close may reach the client as a reset (the server closes with the client's bytes unread)
    with pytest.raises((paramiko.SSHException, EOFError, ConnectionResetError)):
        connect(server, "a", "b")
    assert finished.wait(10)  # the client may see the connection close before the handler returns
    assert done == [False] and server.active is False


def test_last_reference_dropped_inside_a_handler(tmp_path):
    """The server object's last reference goes away on a server thread inside its own handler:
    freeing it there would wait for that very thread, so it is freed once the handler returns."""
    import gc
    import weakref

    key = SSHKey()
    key.generate("ssh-ed25519")
    holder = [SFTPServer()]
    srv = holder[0]
    srv.server_key_count = 1
    srv.set_server_key_handle(0, key.handle)
    srv.host, srv.port, srv.base_dir = "127.0.0.1", free_port(), str(tmp_path)
    ref = weakref.ref(srv)
    returned = threading.Event()

    def on_auth_password(p):
        p.accept = False
        holder.clear()
        gc.collect()
        returned.set()

    srv.on_auth_password = on_auth_password
    srv.start()
    port = srv.port
    del srv
    t = paramiko.Transport(("127.0.0.1", port))
    try:
        with pytest.raises((paramiko.SSHException, EOFError)):
            t.connect(username="a", password="b")
    finally:
        t.close()
    assert returned.wait(10)
    for _ in range(100):
        gc.collect()
        if ref() is None:
            break
        threading.Event().wait(0.05)
    assert ref() is None
