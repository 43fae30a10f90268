"""Metrics: after a known session (one wrong password, one login, an upload, a download, a stat
of a missing file, a mkdir, a listing) the Prometheus text and the JSON snapshot hold exactly its
numbers; the sample server serves the same text on --metrics ADDR:PORT, scraped with curl."""
import json
import os
import re
import shutil
import subprocess
import time

import paramiko
import pytest

from conftest import login, open_sftp, transport
from test_sample_server import Sample

LINE = re.compile(r'^([a-z_]+)(\{[^}]*\})? (\S+)$')


def parse_prometheus(text):
    """{(name, frozenset(labels)): value} of every sample line; checks the format as it goes."""
    out = {}
    for line in text.splitlines():
        if line.startswith("#"):
            assert re.match(r"^# (HELP|TYPE) sftpkit_[a-z_]+ .+$", line), line
            continue
        m = LINE.match(line)
        assert m, f"not a sample line: {line!r}"
        labels = frozenset(re.findall(r'([a-z_]+)="([^"]*)"', m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0)


def known_session(port, root, size=300_000):
    """The session the assertions count on; returns the payload size."""
    t = transport(port)
    with pytest.raises(paramiko.AuthenticationException):
        t.auth_password("bob", "wrong")
    t.close()
    t, sftp = login(port, "bob", password="builder")
    data = os.urandom(size)
    with sftp.open("up.bin", "wb") as f:
        f.write(data)
    with sftp.open("up.bin", "rb") as f:
        assert f.read() == data
    with pytest.raises(FileNotFoundError):
        sftp.stat("missing")
    sftp.mkdir("d")
    assert set(sftp.listdir(".")) == {"up.bin", "d"}
    t.close()
    return size


def wait_closed(fetch, want=0, timeout=5):
    deadline = time.monotonic() + timeout
    while True:
        samples = parse_prometheus(fetch())
        if value(samples, "sftpkit_connections_active") == want or time.monotonic() > deadline:
            return samples
        time.sleep(0.05)


def check_session(samples, size):
    assert value(samples, "sftpkit_connections_accepted_total") == 2
    assert value(samples, "sftpkit_connections_active") == 0
    assert value(samples, "sftpkit_logins_total", method="password", result="failure") == 1
    assert value(samples, "sftpkit_logins_total", method="password", result="success") == 1
    assert value(samples, "sftpkit_logins_total", method="publickey", result="success") == 0
    assert value(samples, "sftpkit_requests_total", type="open", status="ok") == 2
    assert value(samples, "sftpkit_requests_total", type="close", status="ok") == 3  # 2 files, 1 listing
    assert value(samples, "sftpkit_requests_total", type="mkdir", status="ok") == 1
    assert value(samples, "sftpkit_requests_total", type="stat", status="no_such_file") == 1
    assert value(samples, "sftpkit_requests_total", type="opendir", status="ok") == 1
    writes = value(samples, "sftpkit_requests_total", type="write", status="ok")
    assert writes >= size // 32768  # paramiko writes 32 KiB at a time
    # the histogram counts every request once, in cumulative buckets ending at +Inf
    assert value(samples, "sftpkit_request_duration_seconds_count", type="write") == writes
    assert value(samples, "sftpkit_request_duration_seconds_bucket", type="write", le="+Inf") == writes
    assert value(samples, "sftpkit_request_duration_seconds_bucket", type="write", le="10") == writes
    assert value(samples, "sftpkit_request_duration_seconds_bucket", type="write", le="0.0001") <= writes
    # payload plus SFTP framing: at least the file each way, not wildly more
    assert size <= value(samples, "sftpkit_bytes_received_total") < size * 1.2
    assert size <= value(samples, "sftpkit_bytes_sent_total") < size * 1.2


def test_metrics_match_a_known_session(make_server):
    server = make_server("--user", "bob:builder")
    size = known_session(server.port, server.root)
    fetch = lambda: server.command("metrics")["text"]  # noqa: E731
    samples = wait_closed(fetch)
    check_session(samples, size)
    reply = server.command("metrics")
    snap = json.loads(reply["json"])
    assert snap["connections_accepted"] == 2 and snap["connections_active"] == 0
    assert snap["logins"]["password"] == {"success": 1, "partial": 0, "failure": 1}
    assert snap["requests"]["stat"]["status"] == {"no_such_file": 1}
    assert snap["requests"]["mkdir"]["status"] == {"ok": 1}
    assert snap["requests"]["write"]["latency"]["count"] == sum(snap["requests"]["write"]["status"].values())
    assert snap["bytes_received"] == value(parse_prometheus(reply["text"]), "sftpkit_bytes_received_total")
    # the test server prints every event: the handler histogram saw each of them
    assert snap["handler_latency"]["count"] >= len(server.events)


def test_refused_connections_are_counted(make_server):
    server = make_server("--user", "bob:builder", "--veto-accept")
    import socket
    for _ in range(2):
        s = socket.create_connection(("127.0.0.1", server.port))
        s.settimeout(5)
        assert s.recv(10) == b""
        s.close()
    server.wait_event("on_accept", count=2)
    samples = parse_prometheus(server.command("metrics")["text"])
    assert value(samples, "sftpkit_connections_refused_total", reason="on_accept") == 2
    assert value(samples, "sftpkit_connections_accepted_total") == 0


def test_sample_server_serves_metrics_to_curl(tmp_path):
    if not shutil.which("curl"):
        pytest.fail("curl is not installed (scripts/install-deps installs it)")
    root = tmp_path / "root"
    root.mkdir()
    sample = Sample(root, tmp_path / "host-key", "--user", "bob:builder", "--metrics", "127.0.0.1:0")
    try:
        port = int(re.search(r"metrics on port (\d+)", "".join(sample.lines)).group(1))
        url = f"http://127.0.0.1:{port}/metrics"

        def fetch():
            done = subprocess.run(["curl", "-sS", "--max-time", "5", "-D", "-", url], capture_output=True,
                                  text=True, timeout=10)
            assert done.returncode == 0, done.stderr
            head, _, body = done.stdout.partition("\n\n")  # text mode turned CRLF into LF
            assert head.startswith("HTTP/1.0 200") and "text/plain; version=0.0.4" in head, head
            return body

        before = parse_prometheus(fetch())
        assert before[("sftpkit_connections_accepted_total", frozenset())] == 0
        size = known_session(sample.port, root)
        check_session(wait_closed(fetch), size)
        other = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                                f"http://127.0.0.1:{port}/other"], capture_output=True, text=True, timeout=10)
        assert other.stdout == "404"
    finally:
        sample.stop()


def test_admission_refusals_are_counted_by_limit(make_server):
    """MaxConnectionsPerAddress=2: two silent connections are held, the next three are refused in
    the accept thread; each refusal is one admission action named after the limit that acted."""
    import socket
    server = make_server("--user", "bob:builder", "--config", "MaxConnectionsPerAddress=2")
    held = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(2)]
    server.wait_event("on_connect", count=2)
    for _ in range(3):
        s = socket.create_connection(("127.0.0.1", server.port))
        s.settimeout(5)
        assert s.recv(10) == b""  # closed at once, before any banner
        s.close()
    deadline = time.monotonic() + 5
    while True:
        samples = parse_prometheus(server.command("metrics")["text"])
        got = value(samples, "sftpkit_admission_actions_total", action="max_connections_per_address")
        if got == 3 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert got == 3
    assert value(samples, "sftpkit_connections_refused_total", reason="admission") == 3
    for s in held:
        s.close()
