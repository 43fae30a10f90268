"""Diffie-Hellman group exchange sizes over real connections: MinDHGroupSize, MaxDHGroupSize and
CustomDHGroupIndex reach libssh as a filtered moduli file (SSH_BIND_OPTIONS_MODULI), so the group a
client receives is one sftpkit allowed. The client is paramiko with its group-exchange request
range set per test; the modulus bits are read from the SSH_MSG_KEX_DH_GEX_GROUP it received, and
compared with pinned_client_kex_bits (which the server reads from libssh's log)."""
import glob
import os
import time

import paramiko
import pytest
from paramiko.kex_gex import KexGexSHA256

from conftest import last_connection_id, transport

GEX = "diffie-hellman-group-exchange-sha256"


@pytest.fixture
def gex_client(monkeypatch):
    """connect(port, min, preferred, max) -> the modulus bits the server sent."""
    seen = []
    original = KexGexSHA256._parse_kexdh_gex_group

    def recording(self, m):
        result = original(self, m)
        seen.append(self.p.bit_length())
        return result

    monkeypatch.setattr(KexGexSHA256, "_parse_kexdh_gex_group", recording)

    def connect(port, lo, preferred, hi):
        monkeypatch.setattr(KexGexSHA256, "min_bits", lo)
        monkeypatch.setattr(KexGexSHA256, "preferred_bits", preferred)
        monkeypatch.setattr(KexGexSHA256, "max_bits", hi)
        t = transport(port, _preferred_kex=[GEX])
        t.close()
        return seen[-1]

    return connect


def usable_groups():
    """The usable groups of /etc/ssh/moduli in file order (libssh's filter: safe prime, tested)."""
    out = []
    with open("/etc/ssh/moduli") as f:
        for line in f:
            fields = line.split()
            if line.startswith("#") or len(fields) != 7:
                continue
            if int(fields[1]) == 2 and int(fields[2]) & 4:
                out.append(int(fields[4]) + 1)
    return out


def moduli_dirs():
    return set(glob.glob(os.path.join(os.environ.get("TMPDIR", "/tmp"), "sftpkit-moduli-*")))


def test_default_sends_the_preferred_size(make_server, gex_client):
    server = make_server("--kex", GEX)
    assert gex_client(server.port, 1024, 2048, 8192) == 2048
    assert gex_client(server.port, 1024, 3072, 8192) == 3072


def test_min_size_raises_the_group(make_server, gex_client):
    server = make_server("--kex", GEX, "--config", "MinDHGroupSize=4096")
    assert gex_client(server.port, 1024, 2048, 8192) == 4096
    assert gex_client(server.port, 2048, 6144, 8192) == 6144


def test_max_size_caps_the_group(make_server, gex_client):
    server = make_server("--kex", GEX, "--config", "MaxDHGroupSize=3072")
    assert gex_client(server.port, 1024, 8192, 8192) == 3072
    assert gex_client(server.port, 1024, 2048, 8192) == 2048


def test_a_client_range_outside_the_limits_is_disconnected_with_the_reason(make_server, monkeypatch):
    server = make_server("--kex", GEX, "--config", "MaxDHGroupSize=3072")
    monkeypatch.setattr(KexGexSHA256, "min_bits", 4096)
    monkeypatch.setattr(KexGexSHA256, "preferred_bits", 4096)
    started = time.monotonic()
    with pytest.raises((paramiko.SSHException, EOFError)):
        transport(server.port, timeout=5.0, _preferred_kex=[GEX])
    assert time.monotonic() - started < 4.0  # closed at once, not at the handshake timeout
    cid = last_connection_id(server)
    gone = server.wait_event("on_disconnect", connection_id=cid)
    assert "no Diffie-Hellman group" in gone["close_reason"] and "[4096:4096:8192]" in gone["close_reason"]
    error = server.wait_event("on_error")
    assert "MinDHGroupSize..MaxDHGroupSize" in error["description"]
    assert error["error_code"] == 1048641  # SFTPKIT_ERROR_KEY_EXCHANGE_FAILED


def test_custom_group_index_sends_that_group(make_server, gex_client):
    groups = usable_groups()
    index = next(i for i, bits in enumerate(groups) if bits == 6144)
    server = make_server("--kex", GEX, "--config", f"CustomDHGroupIndex={index}")
    # whatever the client prefers inside its range, the one group there is
    assert gex_client(server.port, 1024, 2048, 8192) == 6144
    assert gex_client(server.port, 1024, 8192, 8192) == 6144


def test_pinned_kex_bits_report_the_group(make_server, monkeypatch):
    server = make_server("--kex", GEX, "--config", "MinDHGroupSize=3072", "--config", "MaxDHGroupSize=3072")
    monkeypatch.setattr(KexGexSHA256, "preferred_bits", 2048)
    t = transport(server.port, _preferred_kex=[GEX])
    with pytest.raises(paramiko.AuthenticationException):  # keeps the connection open to pin it
        t.auth_password("nobody", "x")
    pinned = server.pin(last_connection_id(server))
    t.close()
    assert pinned["kex_algorithm"] == GEX and pinned["kex_bits"] == 3072, pinned


def test_the_moduli_file_lives_while_running_only(make_server, gex_client):
    before = moduli_dirs()
    server = make_server("--kex", GEX, "--config", "MinDHGroupSize=4096")
    mine = moduli_dirs() - before
    assert len(mine) == 1
    d = mine.pop()
    assert os.stat(d).st_mode & 0o777 == 0o700
    sizes = {int(line.split()[4]) + 1 for line in open(os.path.join(d, "moduli"))}
    assert sizes and min(sizes) >= 4096
    assert server.command("stop")["rc"] == 0
    assert not os.path.exists(d)
    assert server.command("start")["rc"] == 0  # a new file for the new run
    assert len(moduli_dirs() - before) == 1
    assert gex_client(server.port, 1024, 2048, 8192) == 4096
    server.close()
    assert not (moduli_dirs() - before)
