"""PROXY protocol (ProxyProtocol, ProxyProtocolTrustedAddresses): behind a real HAProxy with
send-proxy (v1) and send-proxy-v2, OpenSSH's sftp and paramiko log in and the server sees the real
client's address everywhere (on_accept, on_connect, list_clients, pin_client); then hand-written
headers for what a balancer does not send: a header from an untrusted address, none when one is
required, malformed and truncated ones (closed within the handshake timeout), LOCAL, and start()
refusing a bad trusted list.

The real client is told apart from the balancer by its source address: clients bind 127.0.0.2
(all of 127/8 is loopback on Linux) while HAProxy connects to the server from 127.0.0.1."""
import os
import shutil
import socket
import struct
import subprocess
import time

import paramiko
import pytest

from conftest import Server, open_sftp, openssh_sftp

CLIENT_IP = "127.0.0.2"
V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HAProxy:
    """haproxy in the foreground (-db) on 127.0.0.1:<free port>, forwarding to the server with a
    PROXY header; stopped by its PID."""

    def __init__(self, tmp_path, server_port, send_proxy):
        if not shutil.which("haproxy"):
            pytest.fail("haproxy is not installed (scripts/install-deps installs it)")
        self.port = free_port()
        cfg = tmp_path / f"haproxy-{self.port}.cfg"
        cfg.write_text(f"""global
    maxconn 100
defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend sftp
    bind 127.0.0.1:{self.port}
    default_backend servers
backend servers
    server s1 127.0.0.1:{server_port} {send_proxy} source 127.0.0.1
""")
        self.proc = subprocess.Popen(["haproxy", "-db", "-f", str(cfg)], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"haproxy exited: {self.proc.stdout.read()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        pytest.fail("haproxy did not listen")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def haproxy(tmp_path):
    started = []

    def make(server_port, send_proxy):
        h = HAProxy(tmp_path, server_port, send_proxy)
        started.append(h)
        return h

    yield make
    for h in started:
        h.stop()


def proxy_server(make_server, mode="optional", trusted=CLIENT_IP, *extra):
    return make_server("--user", "bob:builder", "--config", f"ProxyProtocol={mode}",
                       "--config", f"ProxyProtocolTrustedAddresses={trusted}", *extra)


def client_socket(port, header=b"", timeout=10):
    s = socket.socket()
    s.settimeout(timeout)
    s.bind((CLIENT_IP, 0))
    s.connect(("127.0.0.1", port))
    if header:
        s.sendall(header)
    return s


def paramiko_login(sock):
    t = paramiko.Transport(sock)
    t.banner_timeout = t.handshake_timeout = 10
    t.start_client(timeout=10)
    t.auth_password("bob", "builder")
    assert t.is_authenticated()
    return t, open_sftp(t)


def v2_header(src, dst, sport, dport, family=socket.AF_INET, command=0x21, tlvs=b""):
    fam = 0x11 if family == socket.AF_INET else 0x21
    body = socket.inet_pton(family, src) + socket.inet_pton(family, dst) + struct.pack("!HH", sport, dport) + tlvs
    return V2_SIG + bytes([command, fam]) + struct.pack("!H", len(body)) + body


def assert_refused(sock, within):
    """The server closes the connection without an SSH banner, within `within` seconds."""
    t0 = time.monotonic()
    sock.settimeout(within + 2)
    try:
        data = sock.recv(100)
    except ConnectionResetError:
        data = b""
    elapsed = time.monotonic() - t0
    sock.close()
    assert not data.startswith(b"SSH-"), data
    assert elapsed < within, f"closed after {elapsed:.1f}s"


def the_one(server, name, **match):
    found = server.find(name, **match)
    assert len(found) == 1, (name, server.events)
    return found[0]


# ---- behind HAProxy -----------------------------------------------------------------------------

@pytest.mark.parametrize("send_proxy", ["send-proxy", "send-proxy-v2"])
def test_haproxy_paramiko_and_openssh_sftp_show_the_real_client(make_server, haproxy, keys, send_proxy):
    server = proxy_server(make_server, "required", "127.0.0.1", "--user-key", f"bob:{keys.pub('ed25519')}")
    lb = haproxy(server.port, send_proxy)
    sock = client_socket(lb.port)
    client_port = sock.getsockname()[1]
    t, sftp = paramiko_login(sock)
    sftp.listdir(".")
    # (the balancer's readiness probe came from 127.0.0.1: only CLIENT_IP is this client)
    accept = the_one(server, "on_accept", remote_address=CLIENT_IP)
    assert accept["remote_port"] == client_port
    connect = the_one(server, "on_connect", remote_address=CLIENT_IP)
    assert connect["remote_port"] == client_port
    listed = [(a, int(p)) for _, a, p in server.clients() if a != "127.0.0.1"]
    assert listed == [(CLIENT_IP, client_port)]
    pinned = server.pin(connect["connection_id"])
    assert (pinned["address"], pinned["port"]) == (CLIENT_IP, client_port)
    t.close()
    # OpenSSH's sftp through the same balancer, from the same client address
    with open(os.path.join(server.root, "hello.txt"), "w") as f:
        f.write("hi\n")
    done = openssh_sftp(lb.port, "bob", keys.path("ed25519"), batch="ls\nget hello.txt /dev/null\n",
                        extra=("-o", f"BindAddress={CLIENT_IP}"))
    assert done.returncode == 0, done.stderr
    server.wait_event("on_session_established", count=2)
    assert len(server.find("on_accept", remote_address=CLIENT_IP)) == 2
    established = {e["connection_id"] for e in server.find("on_session_established")}
    assert all(c["remote_address"] == CLIENT_IP for c in server.find("on_connect") if c["connection_id"] in established)


def test_haproxy_from_an_untrusted_address_is_refused(make_server, haproxy):
    """HAProxy connects from 127.0.0.1, which is not in the list: its header is refused and the
    connection never reaches on_accept with the address the header claims."""
    server = proxy_server(make_server, "optional", "10.1.2.3/32")
    lb = haproxy(server.port, "send-proxy-v2")
    sock = client_socket(lb.port)
    with pytest.raises((paramiko.SSHException, EOFError, OSError)):
        paramiko_login(sock)
    time.sleep(0.3)
    assert not server.find("on_session_established")
    assert not [a for a in server.find("on_accept") if a["remote_address"] == CLIENT_IP]


# ---- hand-written headers -------------------------------------------------------------------------

def test_v1_and_v2_headers_name_the_client(make_server):
    server = proxy_server(make_server)
    sock = client_socket(server.port, b"PROXY TCP4 203.0.113.7 127.0.0.1 40001 22\r\n")
    t, sftp = paramiko_login(sock)
    sftp.listdir(".")
    assert the_one(server, "on_connect")["remote_address"] == "203.0.113.7"
    assert the_one(server, "on_connect")["remote_port"] == 40001
    t.close()
    # v2, IPv6 client, with a TLV (PP2_TYPE_UNIQUE_ID) the server skips
    header = v2_header("2001:db8::7", "::1", 50000, 22, socket.AF_INET6, tlvs=b"\x05\x00\x03abc")
    t, sftp = paramiko_login(client_socket(server.port, header))
    sftp.listdir(".")
    connect = server.find("on_connect")[-1]
    assert (connect["remote_address"], connect["remote_port"]) == ("2001:db8::7", 50000)
    assert server.pin(connect["connection_id"])["address"] == "2001:db8::7"
    t.close()


def test_optional_without_header_and_local_keep_the_socket_address(make_server):
    server = proxy_server(make_server, "optional", "127.0.0.0/8")
    sock = client_socket(server.port)
    port = sock.getsockname()[1]
    t, sftp = paramiko_login(sock)  # a direct client: no header at all
    assert (the_one(server, "on_connect")["remote_address"], the_one(server, "on_connect")["remote_port"]) == \
        (CLIENT_IP, port)
    t.close()
    # v2 LOCAL (a balancer's health check style): the socket's address stays
    sock = client_socket(server.port, V2_SIG + bytes([0x20, 0x00, 0, 0]))
    port = sock.getsockname()[1]
    t, sftp = paramiko_login(sock)
    connect = server.find("on_connect")[-1]
    assert (connect["remote_address"], connect["remote_port"]) == (CLIENT_IP, port)
    t.close()


def test_required_refuses_a_connection_without_header(make_server):
    server = proxy_server(make_server, "required", "127.0.0.2")
    assert_refused(client_socket(server.port, b"SSH-2.0-OpenSSH_9.2\r\n"), within=2)
    time.sleep(0.2)
    assert not server.find("on_accept")
    metrics = server.command("metrics")["text"]
    assert 'sftpkit_connections_refused_total{reason="proxy_protocol"} 1' in metrics


def test_untrusted_sender_is_refused(make_server):
    # required: the address alone decides, at once
    server = proxy_server(make_server, "required", "10.0.0.0/8")
    assert_refused(client_socket(server.port, b"PROXY TCP4 203.0.113.7 127.0.0.1 1 22\r\n"), within=2)
    # optional: an untrusted direct client may connect, but not claim another address. Whether
    # the accept thread's non-blocking peek already sees the header is timing: if it does, the
    # connection closes at once; if not, libssh has sent its banner and refuses the header as a
    # bad client banner. Either way it is closed and the address is never used.
    server2 = proxy_server(make_server, "optional", "10.0.0.0/8")
    for delay in (0, 0.3):  # at once (either way), and surely after the peek (libssh's refusal)
        sock = client_socket(server2.port)
        time.sleep(delay)
        sock.sendall(b"PROXY TCP4 203.0.113.7 127.0.0.1 1 22\r\n")
        sock.settimeout(5)
        t0, data = time.monotonic(), b""
        try:
            while chunk := sock.recv(4096):
                data += chunk
        except ConnectionResetError:
            pass
        sock.close()
        assert time.monotonic() - t0 < 4, "the connection was not closed"
        assert data == b"" or data.startswith(b"SSH-2.0-"), data
    time.sleep(0.2)
    for s in (server, server2):
        assert not [e for e in s.events if e.get("remote_address") == "203.0.113.7"]
        assert not s.find("on_session_established")


@pytest.mark.parametrize("header", [
    b"PROXY TCP4 203.0.113.7 127.0.0.1 40001\r\n",              # a field missing
    b"PROXY TCP4 not-an-ip 127.0.0.1 40001 22\r\n",             # a bad address
    b"PROXY " + b"x" * 120,                                     # no CRLF within 107 bytes
    V2_SIG + bytes([0x21, 0x11, 0x00, 0x08]) + b"\x01" * 8,   # IPv4 address block cut short
    v2_header("192.0.2.1", "127.0.0.1", 1, 22, tlvs=b"\x05\x00\x09ab"),  # TLV past the end
    V2_SIG + bytes([0x21, 0x11, 0xFF, 0xFF]),                   # longer than the cap
])
def test_malformed_header_is_closed_at_once(make_server, header):
    server = proxy_server(make_server, "required", "127.0.0.0/8", "--handshake-timeout", "10")
    assert_refused(client_socket(server.port, header), within=2)
    time.sleep(0.1)
    assert not server.find("on_accept")


def test_truncated_header_is_closed_within_the_handshake_timeout(make_server):
    server = proxy_server(make_server, "required", "127.0.0.0/8", "--handshake-timeout", "2")
    t0 = time.monotonic()
    sock = client_socket(server.port, b"PROXY TCP4 203.0.113.7 ")
    assert_refused(sock, within=4)
    assert time.monotonic() - t0 >= 1.5  # it waited for the rest, as long as the timeout allows
    # and the accept thread was not stuck meanwhile for later, well-formed connections
    t, sftp = paramiko_login(client_socket(server.port, b"PROXY TCP4 203.0.113.8 127.0.0.1 5 22\r\n"))
    assert server.find("on_connect")[-1]["remote_address"] == "203.0.113.8"
    t.close()


@pytest.mark.parametrize("settings, message", [
    (("ProxyProtocol=optional",), "ProxyProtocolTrustedAddresses is empty"),
    (("ProxyProtocol=required", "ProxyProtocolTrustedAddresses=10.0.0.0/33"), "10.0.0.0/33"),
    (("ProxyProtocolTrustedAddresses=lb.example",), "lb.example"),
])
def test_start_refuses_bad_proxy_settings(keys, tmp_path, settings, message):
    args = []
    for s in settings:
        args += ["--config", s]
    with pytest.raises(AssertionError) as failed:
        Server(args, tmp_path, keys)
    assert message in str(failed.value) and "1048578" in str(failed.value)
