"""Time limits and pacing: the handshake timeout bounds the whole pre-session phase (a silent TCP
client, a client that never authenticates), socket_timeout closes an idle session but not a busy
one, and the speed limits (server-wide and per user) hold a transfer near the rate."""
import os
import socket
import time

import paramiko
import pytest

from conftest import last_connection_id, login, transport


def test_handshake_timeout_closes_a_silent_tcp_connection(make_server):
    server = make_server("--user", "bob:builder", "--handshake-timeout", 2)
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    started = time.monotonic()
    data = b""
    while True:  # the banner, then nothing until the server gives up
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    waited = time.monotonic() - started
    sock.close()
    assert data.startswith(b"SSH-2.0-")
    assert 1.5 <= waited <= 4.0, waited
    cid = last_connection_id(server)
    err = server.wait_event("on_error")
    assert err["description"] == f"connection {cid}: handshake timeout"
    assert err["error_code"] == 1048640  # SFTPKIT_ERROR_CONNECTION_TIMEOUT
    assert [e["event"] for e in server.connection_events(cid)] == ["on_connect", "on_disconnect", "on_error"]


def test_handshake_timeout_covers_authentication(make_server):
    """The deadline runs until the session is up: key exchange alone does not reset it."""
    server = make_server("--user", "bob:builder", "--handshake-timeout", 2)
    t = transport(server.port)
    started = time.monotonic()
    while t.is_active() and time.monotonic() - started < 6:
        time.sleep(0.05)
    assert not t.is_active()
    assert 1.0 <= time.monotonic() - started <= 4.0
    assert "handshake timeout" in server.wait_event("on_error")["description"]
    # a client that logs in within the limit keeps its session beyond it
    t, sftp = login(server.port, "bob", password="builder")
    time.sleep(2.5)
    assert sftp.listdir(".") == []
    t.close()


def test_socket_timeout_closes_an_idle_session(make_server):
    server = make_server("--user", "bob:builder", "--socket-timeout", 1500)
    t, sftp = login(server.port, "bob", password="builder")
    cid = last_connection_id(server)
    for _ in range(6):  # busy for 3 s: twice the limit, in steps well under it
        sftp.listdir(".")
        time.sleep(0.5)
    assert t.is_active()
    started = time.monotonic()
    disconnect = server.wait_event("on_disconnect", connection_id=cid, timeout=5)
    assert 1.0 <= disconnect["_t"] - started <= 3.0
    assert "idle timeout" in disconnect["close_reason"]
    assert "idle timeout" in server.wait_event("on_error")["description"]
    deadline = time.monotonic() + 3
    while t.is_active() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not t.is_active()
    t.close()


def timed_get(sftp, path, local):
    started = time.monotonic()
    sftp.get(path, local)
    return time.monotonic() - started


def timed_put(sftp, local, path):
    started = time.monotonic()
    sftp.put(local, path)
    return time.monotonic() - started


SIZE = 1_000_000


@pytest.fixture
def payload(tmp_path):
    path = tmp_path / "payload.bin"
    path.write_bytes(os.urandom(SIZE))
    return path


def test_speed_limits_are_roughly_honoured(make_server, payload, tmp_path, capsys):
    rate = 500_000  # bytes per second: 1 MB should take about 2 s
    server = make_server("--user", "bob:builder", "--user", "eve:x", "--speed-out", rate, "--speed-in", rate,
                         "--user-speed", f"eve:0:{rate // 2}")
    with open(os.path.join(server.root, "payload.bin"), "wb") as f:
        f.write(payload.read_bytes())
    with open(os.path.join(server.root, "half.bin"), "wb") as f:
        f.write(payload.read_bytes()[:SIZE // 2])
    t, sftp = login(server.port, "bob", password="builder")
    down = timed_get(sftp, "payload.bin", str(tmp_path / "down.bin"))
    up = timed_put(sftp, str(payload), "up.bin")
    t.close()
    assert (tmp_path / "down.bin").read_bytes() == payload.read_bytes()
    # eve's own outgoing limit is lower than the server's: hers applies
    t, sftp = login(server.port, "eve", password="x")
    eve = timed_get(sftp, "half.bin", str(tmp_path / "eve.bin"))
    t.close()
    # the same download without a limit, for scale
    free_server = make_server("--user", "bob:builder")
    with open(os.path.join(free_server.root, "payload.bin"), "wb") as f:
        f.write(payload.read_bytes())
    t, sftp = login(free_server.port, "bob", password="builder")
    free = timed_get(sftp, "payload.bin", str(tmp_path / "free.bin"))
    t.close()
    with capsys.disabled():
        print(f"\n[measure] 1 MB at {rate} B/s: download {down:.2f}s, upload {up:.2f}s; 0.5 MB at the per-user {rate // 2} B/s: "
              f"{eve:.2f}s; unlimited: {free:.2f}s")
    expected = SIZE / rate
    assert expected * 0.75 <= down <= expected * 2.0, down
    assert expected * 0.75 <= up <= expected * 2.0, up
    assert expected * 0.75 <= eve <= expected * 2.0, eve
    assert free < expected * 0.5, free


def test_a_client_that_pauses_reading_keeps_its_session(make_server, keys, tmp_path):
    """A download whose client stops reading (here: OpenSSH's sftp and ssh stopped with SIGSTOP)
    fills the channel window and the socket, and the server's write waits. An 11 s pause (longer
    than libssh's 10 s default for waits bounded by SSH_OPTIONS_TIMEOUT) must not cost the session
    while socket_timeout (30 s) allows it."""
    import signal
    import subprocess
    server = make_server("--user-key", f"bob:{keys.pub('ed25519')}", "--socket-timeout", 30000)
    data = os.urandom(1 << 20) * 48  # 48 MiB: far more than the window and the socket buffers
    with open(os.path.join(server.root, "big.bin"), "wb") as f:
        f.write(data)
    target = tmp_path / "big.bin"
    proc = subprocess.Popen(
        ["sftp", "-b", "-", "-P", str(server.port), "-F", "/dev/null", "-i", keys.path("ed25519"),
         "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
         "-o", "LogLevel=ERROR", "bob@127.0.0.1"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    server.wait_event("on_session_established", timeout=15)
    proc.stdin.write(f"get big.bin {target}\n")
    proc.stdin.flush()
    time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGSTOP)
    time.sleep(11)
    os.killpg(proc.pid, signal.SIGCONT)
    out, err = proc.communicate("bye\n", timeout=60)
    assert proc.returncode == 0, err
    assert target.stat().st_size == len(data)
    assert not server.find("on_error"), server.find("on_error")
