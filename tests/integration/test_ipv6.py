"""Listener address families: socket_use_ipv6 on ::1, DualStack (one IPv6 socket that also takes
IPv4, peers reported in their IPv4 form), DualStack with an IPv4 host, and a host that does not
fit the family. Only loopback addresses are used; the all-interfaces form ("" host) is the same
code path with "::" and is left out on purpose (tests listen on loopback only)."""
import os
import socket
import subprocess

import pytest

from conftest import last_connection_id, login, server_binary


def test_ipv6_listener(make_server):
    server = make_server("--user", "bob:builder", "--ipv6", "--host", "::1")
    open(os.path.join(server.root, "v6.txt"), "w").close()
    t, sftp = login(server.port, "bob", password="builder", host="::1")
    cid = last_connection_id(server)
    connect = server.find("on_connect")[0]
    assert connect["remote_address"] == "::1"
    assert connect["remote_port"] == t.sock.getsockname()[1]
    assert server.clients() == [[str(cid), "::1", str(connect["remote_port"])]]
    assert server.pin(cid)["address"] == "::1"
    assert sftp.listdir(".") == ["v6.txt"]
    t.close()
    with pytest.raises(OSError):  # IPv6 only
        socket.create_connection(("127.0.0.1", server.port), timeout=2).close()


def test_dual_stack_socket_takes_ipv4_peers(make_server):
    server = make_server("--user", "bob:builder", "--config", "DualStack=1", "--host", "::ffff:127.0.0.1")
    t, sftp = login(server.port, "bob", password="builder", host="127.0.0.1")
    cid = last_connection_id(server)
    # the peer arrives as ::ffff:127.0.0.1 on the IPv6 socket and is reported as plain IPv4
    assert server.find("on_accept")[0]["remote_address"] == "127.0.0.1"
    assert server.find("on_connect")[0]["remote_address"] == "127.0.0.1"
    assert server.clients()[0][1] == "127.0.0.1"
    assert server.pin(cid)["address"] == "127.0.0.1"
    assert sftp.listdir(".") == []
    t.close()


def test_dual_stack_with_an_ipv4_host_listens_on_it(make_server):
    """DualStack only widens an IPv6 socket: with an IPv4 host the listener is plain IPv4 on it."""
    server = make_server("--user", "bob:builder", "--config", "DualStack=1", "--host", "127.0.0.1")
    with open(os.path.join(server.root, "here.txt"), "w") as f:
        f.write("served")
    t, sftp = login(server.port, "bob", password="builder")
    assert server.find("on_connect")[0]["remote_address"] == "127.0.0.1"
    assert sftp.listdir(".") == ["here.txt"]
    t.close()
    with pytest.raises(OSError):  # not on ::1: an IPv4 socket
        socket.create_connection(("::1", server.port), timeout=2).close()


@pytest.mark.parametrize("args,family", [(["--ipv6", "--host", "127.0.0.1"], "IPv6"),
                                         (["--host", "::1"], "IPv4")])
def test_a_host_of_the_wrong_family_is_a_clear_start_error(tmp_path, keys, args, family):
    r = subprocess.run([server_binary(), "--root", str(tmp_path), "--host-key", keys.path("host_ed25519"),
                        "--user", "bob:builder", *args], capture_output=True, text=True, timeout=30,
                       stdin=subprocess.DEVNULL)
    assert r.returncode == 1
    assert "start:" in r.stderr and f"as an {family} address" in r.stderr and "(1048578)" in r.stderr, r.stderr
    assert not r.stdout
