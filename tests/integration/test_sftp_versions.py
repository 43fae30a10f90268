"""Real clients at SFTP versions 4, 5 and 6 (issue 16): lftp with sftp:protocol-version 4|5|6,
asyncssh at 6 (Debian's 2.10 speaks 3..6), Ruby net-sftp (negotiates 6 by itself) and phpseclib
(asked for 6: INIT 3, then version-select from our "versions" extension). Each one
uploads, downloads, lists, renames, makes a symlink, changes attributes and removes, every step
checked on disk, and the version the client says it negotiated is asserted."""
import asyncio
import json
import os
import shutil
import stat
import subprocess

import pytest

USER, PASSWORD = "alice", "pw"
PAYLOAD = b"sftp v4-v6 payload\n" * 100


@pytest.fixture
def server(make_server, keys):
    return make_server("--user", f"{USER}:{PASSWORD}")


def prepare(server, name):
    d = os.path.join(server.root, name)
    os.makedirs(os.path.join(d, "sub"))
    with open(os.path.join(d, "target.txt"), "w") as f:
        f.write("target")
    with open(os.path.join(d, "down.bin"), "wb") as f:
        f.write(PAYLOAD)
    with open(os.path.join(d, "gone.txt"), "w") as f:
        f.write("remove me")
    return d


def run(cmd, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=90, **kw)
    assert p.returncode == 0, f"{cmd[0]} failed ({p.returncode}):\n{p.stdout}\n{p.stderr[-4000:]}"
    return p


def check_disk(d, uploaded="up.bin", renamed="moved.bin", link="link", mode=0o600):
    """What every client did: uploaded then renamed (content intact), the link, the mode, the
    removal."""
    assert not os.path.exists(os.path.join(d, uploaded))
    with open(os.path.join(d, renamed), "rb") as f:
        assert f.read() == PAYLOAD
    assert os.path.islink(os.path.join(d, link)), sorted(os.listdir(d))
    assert os.readlink(os.path.join(d, link)) == "target.txt"
    assert stat.S_IMODE(os.stat(os.path.join(d, renamed)).st_mode) == mode
    assert not os.path.exists(os.path.join(d, "gone.txt"))


@pytest.mark.parametrize("version", [4, 5, 6])
def test_lftp(server, tmp_path, version):
    d = prepare(server, f"lftp{version}")
    local = tmp_path / "up.bin"
    local.write_bytes(PAYLOAD)
    got = tmp_path / "down.bin"
    r = f"/lftp{version}"
    connect = "ssh -a -x -F /dev/null -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"
    p = run(["lftp", "-d", "-c",
             f'set sftp:protocol-version {version}; set sftp:connect-program "{connect}"; '
             f"set net:max-retries 1; open -u {USER},{PASSWORD} -p {server.port} sftp://127.0.0.1; "
             f"put {local} -o {r}/up.bin; get {r}/down.bin -o {got}; mv {r}/up.bin {r}/moved.bin; "
             f"ln -s target.txt {r}/link; chmod 600 {r}/moved.bin; rm {r}/gone.txt; cls -l {r}"])
    assert f"protocol version set to {version}" in p.stderr
    assert got.read_bytes() == PAYLOAD
    check_disk(d)
    # the listing lftp printed came from v4+ NAME entries (no long names): types and names
    listing = p.stdout
    assert "moved.bin" in listing and "link@" in listing and "sub/" in listing, listing


def test_asyncssh_v6(server, tmp_path):
    asyncssh = pytest.importorskip("asyncssh")
    d = prepare(server, "asyncssh")
    local = tmp_path / "up.bin"
    local.write_bytes(PAYLOAD)

    async def main():
        async with asyncssh.connect("127.0.0.1", server.port, username=USER, password=PASSWORD,
                                    known_hosts=None, client_keys=None) as conn:
            async with conn.start_sftp_client(sftp_version=6) as sftp:
                out = {"version": sftp.version}
                await sftp.put(str(local), "/asyncssh/up.bin")
                await sftp.get("/asyncssh/down.bin", str(tmp_path / "down.bin"))
                await sftp.rename("/asyncssh/up.bin", "/asyncssh/moved.bin")
                await sftp.symlink("target.txt", "/asyncssh/link")
                await sftp.chmod("/asyncssh/moved.bin", 0o600)
                await sftp.utime("/asyncssh/moved.bin", (1000000000, 1200000000))
                await sftp.remove("/asyncssh/gone.txt")
                attrs = await sftp.stat("/asyncssh/moved.bin")
                out["size"], out["owner"], out["mtime"] = attrs.size, attrs.owner, attrs.mtime
                out["names"] = sorted(await sftp.listdir("/asyncssh"))
                out["link_type"] = (await sftp.lstat("/asyncssh/link")).type
                # v5+ RENAME without OVERWRITE does not replace
                with pytest.raises(asyncssh.SFTPError) as err:
                    await sftp.rename("/asyncssh/target.txt", "/asyncssh/moved.bin")
                out["rename_code"] = err.value.code
                return out

    out = asyncio.run(main())
    assert out["version"] == 6
    assert (tmp_path / "down.bin").read_bytes() == PAYLOAD
    check_disk(d)
    assert out["size"] == len(PAYLOAD)
    assert out["mtime"] == 1200000000
    assert os.stat(os.path.join(d, "moved.bin")).st_mtime == 1200000000
    assert out["owner"]  # a name (v4+ sends owner strings)
    assert out["names"] == sorted([".", "..", "down.bin", "link", "moved.bin", "sub", "target.txt"])
    assert out["link_type"] == 3  # SSH_FILEXFER_TYPE_SYMLINK
    assert out["rename_code"] == 11  # FILE_ALREADY_EXISTS


RUBY = r"""
require "net/sftp"
require "json"
out = {}
begin
Net::SFTP.start("127.0.0.1", "alice", password: "pw", port: ARGV[0].to_i, verify_host_key: :never,
                non_interactive: true, auth_methods: ["password"]) do |sftp|
  out["version"] = sftp.protocol.version
  sftp.upload!(ARGV[1], "/ruby/up.bin")
  sftp.download!("/ruby/down.bin", ARGV[2])
  sftp.rename!("/ruby/up.bin", "/ruby/moved.bin")
  sftp.symlink!("/ruby/link", "target.txt")
  sftp.setstat!("/ruby/moved.bin", permissions: 0600)
  sftp.remove!("/ruby/gone.txt")
  out["names"] = sftp.dir.entries("/ruby").map(&:name).sort
  a = sftp.stat!("/ruby/moved.bin")
  out["size"] = a.size
  out["owner"] = a.owner
  out["type"] = a.type
end
rescue IOError => e
  warn "net-ssh close: #{e}"
end
puts out.to_json
"""


def test_ruby_net_sftp(server, tmp_path):
    if not shutil.which("ruby"):
        pytest.fail("ruby-net-sftp is not installed (scripts/install-deps installs it)")
    d = prepare(server, "ruby")
    (tmp_path / "up.bin").write_bytes(PAYLOAD)
    script = tmp_path / "client.rb"
    script.write_text(RUBY)
    p = run(["ruby", str(script), str(server.port), str(tmp_path / "up.bin"), str(tmp_path / "down.bin")])
    out = json.loads(p.stdout.splitlines()[-1])
    assert out["version"] == 6, out
    assert (tmp_path / "down.bin").read_bytes() == PAYLOAD
    check_disk(d)
    assert out["size"] == len(PAYLOAD)
    assert out["owner"] and out["type"] == 1
    assert "moved.bin" in out["names"] and "link" in out["names"], out


PHP = r"""<?php
require "phpseclib3/autoload.php";
$s = new \phpseclib3\Net\SFTP("127.0.0.1", (int)$argv[1]);
$s->setPreferredVersion(6); // phpseclib stays at 3 unless asked: INIT 3, then version-select
if (!$s->login("alice", "pw")) { fwrite(STDERR, "login failed\n"); exit(1); }
$out = [];
$out["put"] = $s->put("/php/up.bin", $argv[2], \phpseclib3\Net\SFTP::SOURCE_LOCAL_FILE);
$out["version"] = $s->getNegotiatedVersion(); // the channel opens with the first request
$out["get"] = $s->get("/php/down.bin", $argv[3]);
$out["rename"] = $s->rename("/php/up.bin", "/php/moved.bin");
$out["symlink"] = $s->symlink("target.txt", "/php/link");
$out["chmod"] = $s->chmod(0600, "/php/moved.bin");
$out["delete"] = $s->delete("/php/gone.txt");
$out["names"] = $s->nlist("/php");
sort($out["names"]);
$out["size"] = $s->filesize("/php/moved.bin");
echo json_encode($out), "\n";
"""


def test_phpseclib_version_select(server, tmp_path):
    if not shutil.which("php") or not os.path.exists("/usr/share/php/phpseclib3/autoload.php"):
        pytest.fail("php-phpseclib3 is not installed (scripts/install-deps installs it)")
    d = prepare(server, "php")
    (tmp_path / "up.bin").write_bytes(PAYLOAD)
    script = tmp_path / "client.php"
    script.write_text(PHP)
    p = run(["php", str(script), str(server.port), str(tmp_path / "up.bin"), str(tmp_path / "down.bin")])
    out = json.loads(p.stdout.splitlines()[-1])
    assert out["version"] == 6, out  # INIT 3, then version-select "6"
    for op in ("put", "get", "rename", "symlink", "chmod", "delete"):
        assert out[op] is True or out[op] == 1 or (op == "chmod" and out[op] is not False), (op, out)
    assert (tmp_path / "down.bin").read_bytes() == PAYLOAD
    check_disk(d)
    assert out["size"] == len(PAYLOAD)
