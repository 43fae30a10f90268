"""Settings whose effect spec/sftpkit.json "effects" states, shown over a real connection:
socket_local_address / socket_local_port choose where the server listens; a setting marked
"refused" makes start() fail, naming it, while it is not at its default."""
import socket

import paramiko
import pytest

import sftpkit
from sftpkit import SFTPServer, SSHKey

from conftest import free_port


@pytest.fixture
def server(tmp_path):
    key = SSHKey()
    key.generate("ssh-ed25519")
    srv = SFTPServer()
    srv.server_key_count = 1
    srv.set_server_key_handle(0, key.handle)
    key.close()
    srv.base_dir = str(tmp_path)
    srv.user_count = 1
    srv.set_user_username(0, "alice")
    srv.set_user_password(0, "pw")
    yield srv
    srv.close()


def listening_addresses(port):
    """Local IPv4 addresses with a socket listening on port (from /proc/net/tcp)."""
    found = []
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            local, state = line.split()[1], line.split()[3]
            addr, p = local.split(":")
            if state == "0A" and int(p, 16) == port:
                found.append(socket.inet_ntoa(bytes.fromhex(addr)[::-1]))
    return found


def test_socket_local_address_and_port_choose_the_listener(server):
    port = free_port()
    server.host = ""
    server.socket_local_address = "127.0.0.1"
    server.socket_local_port = port  # port stays at its default (22)
    server.start()
    assert listening_addresses(port) == ["127.0.0.1"]  # not 0.0.0.0, as host "" alone would give
    t = paramiko.Transport(("127.0.0.1", port))
    t.connect(username="alice", password="pw")
    sftp = paramiko.SFTPClient.from_transport(t)
    assert sftp.normalize(".") == "/"
    t.close()


def test_host_and_socket_local_address_that_differ_are_refused(server):
    server.host = "127.0.0.1"
    server.port = free_port()
    server.socket_local_address = "127.0.0.2"
    with pytest.raises(sftpkit.SFTPKitError) as e:
        server.start()
    assert e.value.code == 1048578 and "socket_local_address" in str(e.value)
    assert not server.active


@pytest.mark.parametrize("setting", [
    ("fips_mode", True), ("ssh_settings_max_ssh_packet_size", 65536), ("ssh_settings_obfuscate_handshake", True),
    ("config", "MaxDHGroupSize=1024"),
])
def test_refused_settings_fail_start(server, setting):
    server.host, server.port = "127.0.0.1", free_port()
    name, value = setting
    if name == "config":
        server.config(value)
        name = value.split("=")[0]
    else:
        setattr(server, name, value)
    with pytest.raises(sftpkit.SFTPKitError) as e:
        server.start()
    assert e.value.code == 1048578 and name in str(e.value)
    assert not server.active


@pytest.mark.parametrize("settings,named", [
    (["MinDHGroupSize=6144", "MaxDHGroupSize=4096"], "MinDHGroupSize"),  # min above max
    (["CustomDHGroupIndex=0", "MinDHGroupSize=8192"], "CustomDHGroupIndex"),  # group 0 is smaller
])
def test_dh_group_limits_that_leave_no_group_fail_start(server, settings, named):
    """Group exchange sizes reach libssh as a filtered moduli file (tests/integration/
    test_dh_group_exchange.py shows the groups clients get); limits no group fits are refused."""
    server.host, server.port = "127.0.0.1", free_port()
    for setting in settings:
        server.config(setting)
    with pytest.raises(sftpkit.SFTPKitError) as e:
        server.start()
    assert e.value.code == 1048578 and named in str(e.value)
    assert not server.active


def test_effect_notes_are_in_the_docstrings():
    """spec/sftpkit.json "effects" reaches the binding's own documentation (tools/gen)."""
    assert "No effect in sftpkit: libssh speaks SSH-2 only." in SFTPServer.ssh_settings_versions.__doc__
    assert "Refused: start() fails with 1048578" in SFTPServer.fips_mode.__doc__
    assert "sftpkit:" not in SFTPServer.base_dir.__doc__ and "Refused" not in SFTPServer.base_dir.__doc__
