"""Connection events and the client registry: each event once, in order, with the right
parameters; the on_accept veto; a failed handshake; list_clients, pin_client and drop_client
(graceful and forced) from the command thread."""
import socket
import time

import paramiko
import pytest

from conftest import last_connection_id, login, open_sftp, openssh_sftp, transport

LIFECYCLE = ["on_accept", "on_connect", "on_session_established", "on_session_closed", "on_disconnect"]


@pytest.fixture
def server(make_server, keys):
    return make_server("--user", "bob:builder", "--user-key", f"bob:{keys.pub('ed25519')}")


def lifecycle_of(server, cid, port):
    """The lifecycle events of one connection (on_accept matched by the client's port)."""
    accept = [e for e in server.find("on_accept") if e["remote_port"] == port]
    rest = [e for e in server.connection_events(cid) if e["event"] in LIFECYCLE + ["on_error"]]
    return accept + rest


def test_events_fire_once_in_order_with_their_parameters(server):
    t, sftp = login(server.port, "bob", password="builder")
    local_port = t.sock.getsockname()[1]
    cid = last_connection_id(server)
    sftp.listdir(".")
    sftp.close()
    t.close()
    server.wait_event("on_disconnect", connection_id=cid)
    events = lifecycle_of(server, cid, local_port)
    assert [e["event"] for e in events] == LIFECYCLE  # and no on_error for a normal close
    accept, connect = events[0], events[1]
    assert accept["remote_address"] == "127.0.0.1" and accept["accept"] == 1
    assert connect["remote_address"] == "127.0.0.1" and connect["remote_port"] == local_port
    assert all(e["connection_id"] == cid for e in events[1:])
    # authentication happens between on_connect and on_session_established
    everything = [e["event"] for e in server.find() if e.get("connection_id") == cid]
    assert everything.index("on_auth_succeeded") < everything.index("on_session_established")
    assert events[-1]["pin_rc"] == 0  # still pinnable while on_disconnect runs


def test_connection_ids_increase(server):
    ids = []
    for _ in range(3):
        t, _ = login(server.port, "bob", password="builder")
        ids.append(last_connection_id(server))
        t.close()
    assert ids == sorted(ids) and len(set(ids)) == 3


def test_on_accept_veto_closes_before_any_ssh_byte(make_server):
    server = make_server("--user", "bob:builder", "--veto-accept")
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    sock.settimeout(5)
    assert sock.recv(100) == b""  # closed, and not even the banner was sent
    sock.close()
    with pytest.raises((paramiko.SSHException, EOFError, OSError)):
        transport(server.port, timeout=5)
    vetoed = server.wait_event("on_accept", count=2)
    assert vetoed["accept"] == 0
    time.sleep(0.2)
    assert not server.find("on_connect")
    assert server.clients() == []


def test_failed_handshake_reports_on_error_after_on_disconnect(server):
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    assert sock.recv(100).startswith(b"SSH-2.0-")
    sock.sendall(b"SSH-2.0-garbage\r\n" + b"\x00" * 64 + b"not a packet at all" * 10)
    sock.settimeout(5)
    while sock.recv(4096):
        pass
    sock.close()
    cid = last_connection_id(server)
    server.wait_event("on_error")
    names = [e["event"] for e in server.connection_events(cid)]
    assert names == ["on_connect", "on_disconnect", "on_error"]
    assert "key exchange failed" in server.find("on_error")[0]["description"]


def test_list_clients_and_pin(server, keys):
    t1, s1 = login(server.port, "bob", password="builder")
    t2, s2 = login(server.port, "bob", pkey=keys.paramiko("ed25519"))
    ports = {t1.sock.getsockname()[1], t2.sock.getsockname()[1]}
    listed = server.clients()
    assert len(listed) == 2
    assert {int(p) for _, _, p in listed} == ports
    assert all(addr == "127.0.0.1" for _, addr, _ in listed)
    cid = int(listed[0][0])
    before = server.pin(cid)
    assert before["id"] == cid and before["address"] == "127.0.0.1" and before["port"] in ports
    assert before["client_software_name"].startswith("SSH-2.0-paramiko")
    assert before["version"] == 2
    assert before["total_bytes_sent"] > 0 and before["total_bytes_received"] > 0
    (s1 if t1.sock.getsockname()[1] == before["port"] else s2).listdir(".")
    after = server.pin(cid)
    assert after["total_bytes_received"] > before["total_bytes_received"]
    assert after["total_bytes_sent"] > before["total_bytes_sent"]
    reply = server.command("pin 9999")
    assert reply["rc"] == 1048577 and "9999" in reply["error"]
    t1.close()
    t2.close()


def wait_inactive(t, timeout=3.0):
    deadline = time.monotonic() + timeout
    while t.is_active() and time.monotonic() < deadline:
        time.sleep(0.02)
    return not t.is_active()


@pytest.mark.parametrize("how", ["graceful", "forced"])
def test_drop_client(server, how):
    t, sftp = login(server.port, "bob", password="builder")
    cid = last_connection_id(server)
    started = time.monotonic()
    reply = server.command(f"drop {cid}" + (" forced" if how == "forced" else ""))
    assert reply["rc"] == 0
    disconnect = server.wait_event("on_disconnect", connection_id=cid, timeout=3)
    assert disconnect["_t"] - started < 1.0
    assert wait_inactive(t)
    with pytest.raises((OSError, EOFError, paramiko.SSHException)):
        sftp.listdir(".")
    names = [e["event"] for e in server.connection_events(cid)]
    # a drop is the server's own doing: no on_error
    assert names[-2:] == ["on_session_closed", "on_disconnect"] and "on_error" not in names
    assert disconnect["close_reason"] == "dropped by the server" + (" (forced)" if how == "forced" else "")
    assert server.clients() == []
    reply = server.command(f"drop {cid}")
    assert reply["rc"] == 1048577 and str(cid) in reply["error"]
    t.close()


def test_forced_drop_frees_a_throttled_download(make_server, tmp_path):
    server = make_server("--user", "bob:builder", "--speed-out", "20000")
    with open(f"{server.root}/big.bin", "wb") as f:
        f.write(b"\xab" * 2_000_000)
    t, sftp = login(server.port, "bob", password="builder")
    cid = last_connection_id(server)
    import threading
    failure = []

    def download():
        try:
            sftp.get("big.bin", str(tmp_path / "big.bin"))
        except Exception as e:  # the drop ends it
            failure.append(e)

    th = threading.Thread(target=download)
    th.start()
    time.sleep(1.0)
    started = time.monotonic()
    assert server.command(f"drop {cid} forced")["rc"] == 0
    disconnect = server.wait_event("on_disconnect", connection_id=cid, timeout=3)
    assert disconnect["_t"] - started < 1.0
    t.close()
    th.join(10)
    assert failure


def test_close_reason_of_a_client_that_says_goodbye(server, keys):
    r = openssh_sftp(server.port, "bob", keys.path("ed25519"), batch="ls\n")
    assert r.returncode == 0, r.stderr
    ev = server.wait_event("on_disconnect")
    assert ev["pin_rc"] == 0
    assert ev["close_reason"] == "disconnected by user"  # OpenSSH's SSH_MSG_DISCONNECT text


@pytest.mark.parametrize("event", ["on_accept", "on_connect", "on_auth_attempt", "on_session_established",
                                   "on_session_closed", "on_disconnect"])
def test_stop_from_inside_a_handler(make_server, event):
    """stop() called by a handler on a server thread (the accept thread for on_accept, the
    connection's own thread for the rest) returns, and the server can start again."""
    server = make_server("--user", "bob:builder", "--stop-on", event)
    # on_session_closed and on_disconnect fire after the client is done: its part must succeed.
    # The earlier events may stop the server under the client's feet: then only transport errors
    # are acceptable (an assertion of the client part is never swallowed).
    client_error, t = None, None
    try:
        t = transport(server.port, timeout=5)
        t.auth_password("bob", "builder")
        sftp = open_sftp(t)
        sftp.listdir(".")
        sftp.close()
    except (paramiko.SSHException, EOFError, OSError) as e:
        client_error = e
    finally:
        if t is not None:
            t.close()
    if event in ("on_session_closed", "on_disconnect"):
        assert client_error is None, f"the client failed before {event} could stop the server: {client_error!r}"
    stopped = server.wait_event("_stopped_in_handler", timeout=10)
    assert stopped["in"] == event and stopped["rc"] == 0 and stopped["ms"] < 2000, stopped
    reply = server.command("start")
    assert reply["rc"] == 0, reply
    t, sftp = login(server.port, "bob", password="builder")
    sftp.listdir(".")
    sftp.close()
    t.close()


@pytest.mark.parametrize("how", ["graceful", "forced"])
def test_drop_during_the_handshake(server, how):
    """A client that is silent after the banner (key exchange pending) or that has not logged in
    yet is dropped at once too, without on_error."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    assert sock.recv(100).startswith(b"SSH-2.0-")
    silent = last_connection_id(server)
    t = transport(server.port)  # key exchange done, not authenticated
    unauthenticated = last_connection_id(server)
    for cid in (silent, unauthenticated):
        started = time.monotonic()
        assert server.command(f"drop {cid}" + (" forced" if how == "forced" else ""))["rc"] == 0
        ev = server.wait_event("on_disconnect", connection_id=cid, timeout=3)
        assert ev["_t"] - started < 1.0
        assert ev["close_reason"].startswith("dropped by the server")
    sock.settimeout(3)
    assert sock.recv(4096) == b"" or sock.recv(4096) == b""
    sock.close()
    assert wait_inactive(t)
    t.close()
    assert not server.find("on_error")
    assert not server.find("on_session_established")
