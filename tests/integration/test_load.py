"""Many clients at once: 200 concurrent authenticated SFTP sessions (paramiko transports opened
from a thread pool, each used once, then closed), stop() with 50 clients connected, and the login
latency of one client at a time. Measurements are printed as [measure] lines."""
import concurrent.futures
import os
import statistics
import time

import paramiko
import pytest

from conftest import login


def open_many(port, n, workers=16):
    def one(i):
        t, sftp = login(port, "bob", password="builder")
        return t, sftp

    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, range(n)))


def close_all(sessions):
    """Closes the SFTP channel first, as a polite client does (a transport closed under an open
    channel is a lost connection to the server, reported by on_error)."""
    for t, sftp in sessions:
        try:
            sftp.close()
            t.close()
        except Exception:
            pass


def test_200_concurrent_sessions(make_server, capsys):
    # 200 simultaneous handshakes from one address is what MaxStartups and PerSourceMaxStartups
    # refuse by default (test_abuse.py); this test is about carrying that many sessions at once
    server = make_server("--user", "bob:builder", "--config", "MaxStartups=0", "--config", "PerSourceMaxStartups=0")
    with open(os.path.join(server.root, "probe.txt"), "w") as f:
        f.write("probe")
    rss_idle, threads_idle = server.rss_kib(), server.threads()
    started = time.monotonic()
    sessions = open_many(server.port, 200)
    opened = time.monotonic() - started
    try:
        server.wait_event("on_session_established", count=200, timeout=20)
        assert len(server.clients()) == 200
        rss_busy, threads_busy = server.rss_kib(), server.threads()
        # every session works while all are open
        for t, sftp in sessions:
            assert sftp.stat("probe.txt").st_size == 5
    finally:
        close_all(sessions)
    server.wait_event("on_disconnect", count=200, timeout=20)
    deadline = time.monotonic() + 5
    while server.clients() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert server.clients() == []
    ids = [e["connection_id"] for e in server.find("on_connect")]
    assert len(set(ids)) == 200
    assert not server.find("on_error")
    time.sleep(1.2)  # the accept thread reaps finished connection threads about once a second
    with capsys.disabled():
        print(f"\n[measure] 200 sessions opened in {opened:.1f}s; server RSS {rss_idle} KiB idle, {rss_busy} KiB "
              f"with 200 sessions ({(rss_busy - rss_idle) / 200:.0f} KiB each), {server.rss_kib()} KiB after; "
              f"threads {threads_idle} -> {threads_busy} -> {server.threads()}")
    assert threads_busy >= threads_idle + 200
    assert server.threads() <= threads_idle + 2  # the connection threads are gone again


STOP_BOUND_MS = 8000 if "ASAN_OPTIONS" in os.environ or "TSAN_OPTIONS" in os.environ else 2000


def test_stop_with_50_clients_returns_promptly(make_server, capsys):
    server = make_server("--user", "bob:builder", "--config", "MaxStartups=0", "--config", "PerSourceMaxStartups=0")
    sessions = open_many(server.port, 50)
    try:
        server.wait_event("on_session_established", count=50, timeout=15)
        reply = server.command("stop")
        assert reply["rc"] == 0
        # promptly = no session's timeout is waited for (those are seconds each); a sanitizer
        # build runs every thread several times slower, so its bound is wider
        assert reply["ms"] < STOP_BOUND_MS, reply
        # every session was closed, with its events, and nobody is listed
        assert len(server.find("on_session_closed")) == 50
        assert len(server.find("on_disconnect")) == 50
        assert server.clients() == []
        deadline = time.monotonic() + 5
        while any(t.is_active() for t, _ in sessions) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(t.is_active() for t, _ in sessions)
    finally:
        close_all(sessions)
    with capsys.disabled():
        print(f"\n[measure] stop() with 50 sessions: {reply['ms']:.0f} ms")
    # the server starts again; ids keep increasing across the restart
    assert server.command("start")["rc"] == 0
    t, sftp = login(server.port, "bob", password="builder")
    sftp.listdir(".")
    t.close()
    last = server.wait_event("on_connect", count=51)
    assert last["connection_id"] == 51


def test_login_latency(make_server, keys, capsys):
    server = make_server("--user", "bob:builder", "--user-key", f"bob:{keys.pub('ed25519')}")
    key = keys.paramiko("ed25519")
    times = {"password": [], "publickey": []}
    for i in range(10):
        for method in times:
            started = time.monotonic()
            t, sftp = login(server.port, "bob", **({"password": "builder"} if method == "password" else {"pkey": key}))
            times[method].append(time.monotonic() - started)
            t.close()
    with capsys.disabled():
        print("\n[measure] paramiko connect + auth + SFTP init, median of 10: " +
              ", ".join(f"{m} {statistics.median(v) * 1000:.0f} ms" for m, v in times.items()))
    assert statistics.median(times["password"]) < 1.0
