"""Settings' effects over real connections. ssh_settings_compression_level: OpenSSH's sftp reports
how much the server's compressed stream shrank what it carried (ssh -v 'compress incoming').
AllowSpecialModeBits, AllowChangeOwner and SymlinkArgumentOrder: what paramiko's chmod, chown and
symlink do on disk with each setting (the tests run as root, so the file system itself would
allow setuid bits and any owner)."""
import asyncio
import os
import random
import re
import stat
import subprocess
import time

import paramiko
import pytest

from conftest import login, transport

USER = "alice"


def incoming_factor(server, keys, tmp_path):
    out = tmp_path / "copy.txt"
    cmd = ["sftp", "-v", "-C", "-b", "-", "-P", str(server.port), "-F", "/dev/null", "-i", keys.path("ed25519"),
           "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
           "-o", "IdentitiesOnly=yes", f"{USER}@127.0.0.1"]
    p = subprocess.run(cmd, input=f"get text.txt {out}\n", capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr[-3000:]
    assert out.read_bytes() == open(os.path.join(server.root, "text.txt"), "rb").read()
    m = re.search(r"compress incoming: raw data (\d+), compressed (\d+)", p.stderr)
    assert m, p.stderr[-3000:]
    return int(m.group(2)) / int(m.group(1))


def test_compression_level_changes_what_the_server_sends(make_server, keys, tmp_path):
    rng = random.Random(7)
    words = ["sftp", "kit", "level", "zlib", "deflate", "window", "packet", "channel", "stream", "block"]
    text = " ".join(rng.choice(words) + str(rng.randrange(1000)) for _ in range(200000)).encode()
    factors = {}
    for level in (1, 9):
        server = make_server("--user-key", f"{USER}:{keys.pub('ed25519')}", "--force-compression",
                             "--ssh-compression-level", level)
        with open(os.path.join(server.root, "text.txt"), "wb") as f:
            f.write(text)
        factors[level] = incoming_factor(server, keys, tmp_path)
        server.close()
    assert factors[9] < factors[1] * 0.9, factors


def sftp_session(make_server, *config):
    args = ["--user", f"{USER}:pw"]
    for c in config:
        args += ["--config", c]
    server = make_server(*args)
    with open(os.path.join(server.root, "f.txt"), "w") as f:
        f.write("x")
    t, sftp = login(server.port, USER, "pw")
    return server, t, sftp


@pytest.mark.parametrize("allowed", [False, True])
def test_allow_special_mode_bits(make_server, allowed):
    server, t, sftp = sftp_session(make_server, *(["AllowSpecialModeBits=True"] if allowed else []))
    sftp.chmod("f.txt", 0o4755)
    sftp.mkdir("shared", 0o1777)
    t.close()
    mode = os.stat(os.path.join(server.root, "f.txt")).st_mode
    assert stat.S_IMODE(mode) == (0o4755 if allowed else 0o755)
    dmode = stat.S_IMODE(os.stat(os.path.join(server.root, "shared")).st_mode)
    assert dmode & 0o1000 == (0o1000 if allowed else 0)


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")
@pytest.mark.parametrize("allowed", [False, True])
def test_allow_change_owner(make_server, allowed):
    server, t, sftp = sftp_session(make_server, *(["AllowChangeOwner=True"] if allowed else []))
    path = os.path.join(server.root, "f.txt")
    before = os.stat(path)
    if allowed:
        sftp.chown("f.txt", 12345, 23456)
    else:
        with pytest.raises(PermissionError):
            sftp.chown("f.txt", 12345, 23456)
        sftp.chown("f.txt", before.st_uid, before.st_gid)  # the owner it already has: accepted
    t.close()
    after = os.stat(path)
    assert (after.st_uid, after.st_gid) == ((12345, 23456) if allowed else (before.st_uid, before.st_gid))


@pytest.mark.parametrize("order", ["openssh", "draft"])
def test_symlink_argument_order_forced(make_server, order):
    """paramiko sends OpenSSH's order (target first) to every server: forced 'draft', the server
    reads its arguments the other way round and the link paramiko asked for is not made."""
    server, t, sftp = sftp_session(make_server, f"SymlinkArgumentOrder={order}")
    link = os.path.join(server.root, "lnk")
    if order == "openssh":
        sftp.symlink("f.txt", "lnk")
        assert os.readlink(link) == "f.txt"
    else:
        with pytest.raises(IOError):  # "f.txt" would be the link: it exists
            sftp.symlink("f.txt", "lnk")
        assert not os.path.lexists(link)
    t.close()


def failing_attempts_seconds(server, n):
    t = transport(server.port)
    started = time.monotonic()
    for _ in range(n):
        with pytest.raises(paramiko.AuthenticationException):
            t.auth_password(USER, "wrong")
    took = time.monotonic() - started
    t.close()
    return took


def test_auth_failure_max_delay_caps_the_growing_delay(make_server):
    """AuthFailureDelay 400 ms doubles per failure from one address: 0.4 + 0.8 + 1.6 + 3.2 s for
    four failures under the default cap (5000 ms); AuthFailureMaxDelay=400 holds each at 0.4 s."""
    grown = failing_attempts_seconds(make_server("--user", f"{USER}:pw", "--config", "AuthFailureDelay=400"), 4)
    capped = failing_attempts_seconds(make_server("--user", f"{USER}:pw", "--config", "AuthFailureDelay=400",
                                                  "--config", "AuthFailureMaxDelay=400"), 4)
    assert grown >= 5.5 and capped < 3.0, (grown, capped)


@pytest.mark.parametrize("utf8", [False, True])
def test_use_utf8(make_server, utf8):
    """use_utf8 (SFTP v3; from v4 on names are UTF-8 anyway): a name on disk that is not UTF-8 is
    listed as ISO-8859-1 converted to UTF-8, and a client path that is not UTF-8 is refused.
    Off, names are bytes both ways. asyncssh with path_encoding=None shows the bytes as sent."""
    asyncssh = pytest.importorskip("asyncssh")
    server = make_server("--user", f"{USER}:pw", *(["--use-utf8"] if utf8 else []))
    with open(os.path.join(server.root.encode(), b"caf\xe9.txt"), "w") as f:
        f.write("latin-1 name")

    async def run():
        async with asyncssh.connect("127.0.0.1", server.port, username=USER, password="pw", known_hosts=None,
                                    preferred_auth="password") as conn:
            async with conn.start_sftp_client(path_encoding=None, sftp_version=3) as sftp:
                names = [n for n in await sftp.listdir(b".") if n not in (b".", b"..")]
                try:
                    await sftp.stat(b"caf\xe9.txt")
                    raw_ok = True
                except asyncssh.SFTPError:
                    raw_ok = False
                return names, raw_ok

    names, raw_ok = asyncio.run(asyncio.wait_for(run(), 30))
    assert names == ([b"caf\xc3\xa9.txt"] if utf8 else [b"caf\xe9.txt"])
    assert raw_ok is (not utf8)
