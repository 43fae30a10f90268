"""Audit log (AuditLogFile, AuditLogEvents, AuditLogMaxSize, AuditLogMaxFiles): a known session
gives exactly its records, in order, with the documented fields (docs/audit.md), in the file and
as on_notification("Audit") events; behind a PROXY header the record names the real client; a
transfer cut by the client is recorded as aborted; the file rotates by size and keeps N files."""
import json
import os
import socket
import time

import paramiko
import pytest

from conftest import login, open_sftp, transport

FIELDS = {"time", "connection_id", "user", "address", "port", "operation", "status"}


def records(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def audit_server(make_server, tmp_path, *extra):
    log = tmp_path / "audit.log"
    server = make_server("--user", "bob:builder", "--config", f"AuditLogFile={log}",
                         "--config", "AuditLogEvents=true", *extra)
    return server, log


def wait_records(log, count, timeout=5):
    deadline = time.monotonic() + timeout
    while True:
        got = records(log) if log.exists() else []
        if len(got) >= count or time.monotonic() > deadline:
            return got
        time.sleep(0.05)


def test_known_session_gives_its_records(make_server, tmp_path):
    server, log = audit_server(make_server, tmp_path)
    t = transport(server.port)
    with pytest.raises(paramiko.AuthenticationException):
        t.auth_password("bob", "wrong")
    t.close()
    t, sftp = login(server.port, "bob", password="builder")
    port = t.sock.getsockname()[1]
    data = os.urandom(100_000)
    with sftp.open("up.bin", "wb") as f:
        f.write(data)
    with sftp.open("up.bin", "rb") as f:
        assert f.read() == data
    sftp.stat("up.bin")  # metadata reads are not audited
    with pytest.raises(FileNotFoundError):
        sftp.open("missing.txt", "rb")
    sftp.rename("up.bin", "moved.bin")
    sftp.mkdir("d")
    sftp.listdir("d")
    sftp.rmdir("d")
    sftp.remove("moved.bin")
    t.close()
    got = wait_records(log, 10)
    want = [
        ("login", None, None, "failure"),
        ("login", None, None, "ok"),
        ("upload", "/up.bin", None, "ok"),
        ("download", "/up.bin", None, "ok"),
        ("open", "/missing.txt", None, "no_such_file"),
        ("rename", "/up.bin", "/moved.bin", "ok"),
        ("mkdir", "/d", None, "ok"),
        ("list", "/d", None, "ok"),
        ("rmdir", "/d", None, "ok"),
        ("remove", "/moved.bin", None, "ok"),
    ]
    assert [(r["operation"], r.get("path"), r.get("target"), r["status"]) for r in got] == want
    for r in got:
        assert FIELDS <= set(r), r
        assert r["user"] == "bob" and r["address"] == "127.0.0.1"
        assert r["time"].endswith("Z") and r["time"][:2] == "20"
    assert got[0]["method"] == got[1]["method"] == "password"
    session = [r for r in got[1:]]
    assert all(r["connection_id"] == got[1]["connection_id"] and r["port"] == port for r in session)
    assert got[0]["connection_id"] != got[1]["connection_id"]
    assert (got[2]["bytes_written"], got[2]["bytes_read"]) == (100_000, 0)
    assert (got[3]["bytes_written"], got[3]["bytes_read"]) == (0, 100_000)
    assert "bytes_read" not in got[5] and "aborted" not in got[2]
    # the same records as events, in the same order (each fired just after its line is written)
    server.wait_event("on_notification", count=len(want), event_id="Audit")
    events = [json.loads(e["event_param"]) for e in server.find("on_notification", event_id="Audit")]
    assert events == got


def test_aborted_upload_and_proxied_client(make_server, tmp_path):
    server, log = audit_server(make_server, tmp_path, "--config", "ProxyProtocol=optional",
                               "--config", "ProxyProtocolTrustedAddresses=127.0.0.1")
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.sendall(b"PROXY TCP4 198.51.100.4 127.0.0.1 41000 22\r\n")
    t = paramiko.Transport(sock)
    t.start_client(timeout=10)
    t.auth_password("bob", "builder")
    sftp = open_sftp(t)
    f = sftp.open("half.bin", "wb")
    f.write(b"x" * 5000)
    f.flush()
    t.close()  # gone with the file still open
    got = wait_records(log, 2)
    assert [r["operation"] for r in got] == ["login", "upload"]
    assert all((r["address"], r["port"]) == ("198.51.100.4", 41000) for r in got)
    assert got[1]["aborted"] is True and got[1]["bytes_written"] == 5000


def test_rotation_keeps_max_files(make_server, tmp_path):
    server, log = audit_server(make_server, tmp_path, "--config", "AuditLogMaxSize=4096",
                               "--config", "AuditLogMaxFiles=2")
    t, sftp = login(server.port, "bob", password="builder")
    for i in range(40):  # 80 records of about 200 bytes: about four files' worth
        sftp.mkdir(f"dir-{i:03d}")
        sftp.rmdir(f"dir-{i:03d}")
    t.close()
    server.wait_event("on_disconnect")
    kept = [log, tmp_path / "audit.log.1", tmp_path / "audit.log.2"]
    assert all(p.exists() for p in kept)
    assert not (tmp_path / "audit.log.3").exists()
    for p in kept:
        assert p.stat().st_size <= 4096
    lines = records(kept[2]) + records(kept[1]) + records(kept[0])  # oldest first
    # the newest records survive, complete and in order; the oldest were rotated away
    assert lines[-1]["operation"] == "rmdir" and lines[-1]["path"] == "/dir-039"
    names = [r["path"] for r in lines if r["operation"] == "mkdir"]
    assert names == sorted(names) and len(names) < 40
    server.wait_event("on_notification", count=81, event_id="Audit")
    events = server.find("on_notification", event_id="Audit")
    assert len(events) == 81  # the event stream is complete (login + 80)
