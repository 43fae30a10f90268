"""Real clients against the server, each checked on disk: the link each one asks for is the link
made (whatever SYMLINK order it sends to a server that is not OpenSSH), READLINK, REALPATH of
links (OpenSSH resolves them), rename, the root's listing ('..' describes the root itself), and
copy-data. Clients: asyncssh, paramiko, OpenSSH sftp, lftp, phpseclib (php-phpseclib3), Ruby
net-sftp (ruby-net-sftp), PuTTY psftp (putty-tools: no symlink command), node ssh2 (npm,
installed here into the build tree on first use) and SSH.NET (NuGet, tests/integration/sshnet built
into the build tree on first use; no copy-data API)."""
import asyncio
import json
import os
import shutil
import stat
import struct
import subprocess

import paramiko
import pytest

from conftest import login, openssh_sftp

USER, PASSWORD = "alice", "pw"


@pytest.fixture
def server(make_server, keys):
    return make_server("--user", f"{USER}:{PASSWORD}", "--user-key", f"{USER}:{keys.pub('ed25519')}")


def prepare(server, name):
    """<root>/<name>/{target.txt, a.txt, sub/} for one client's run."""
    d = os.path.join(server.root, name)
    os.makedirs(os.path.join(d, "sub"))
    with open(os.path.join(d, "target.txt"), "w") as f:
        f.write("target")
    with open(os.path.join(d, "a.txt"), "w") as f:
        f.write("renamed")
    os.symlink("sub", os.path.join(d, "dlink"))  # for REALPATH through a directory link
    return d


def assert_link(d, name="link", target="target.txt"):
    path = os.path.join(d, name)
    assert os.path.islink(path), f"{path} is not a symlink: {sorted(os.listdir(d))}"
    assert os.readlink(path) == target
    assert not os.path.lexists(os.path.join(d, target + ".lnk"))


def assert_renamed(d):
    assert not os.path.exists(os.path.join(d, "a.txt"))
    with open(os.path.join(d, "b.txt")) as f:
        assert f.read() == "renamed"


def run(cmd, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60, **kw)
    assert p.returncode == 0, f"{cmd[0]} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}"
    return p.stdout


def test_asyncssh(server):
    asyncssh = pytest.importorskip("asyncssh")
    d = prepare(server, "asyncssh")

    async def main():
        async with asyncssh.connect("127.0.0.1", server.port, username=USER, password=PASSWORD,
                                    known_hosts=None, client_keys=None) as conn:
            assert conn.get_extra_info("server_version").startswith("SSH-2.0-sftpkit")
            async with conn.start_sftp_client() as sftp:
                await sftp.symlink("target.txt", "/asyncssh/link")  # (target, link path)
                assert await sftp.readlink("/asyncssh/link") == "target.txt"
                assert await sftp.realpath("/asyncssh/link") == "/asyncssh/target.txt"
                assert await sftp.realpath("/asyncssh/dlink/x") == "/asyncssh/sub/x"
                await sftp.rename("/asyncssh/a.txt", "/asyncssh/b.txt")
                entries = {e.filename: e.attrs for e in await sftp.readdir("/")}
                return entries

    entries = asyncio.run(main())
    assert_link(d)
    assert_renamed(d)
    root = os.stat(server.root)
    assert stat.S_IMODE(entries[".."].permissions) == stat.S_IMODE(root.st_mode)
    assert entries[".."].mtime == int(root.st_mtime)
    assert entries[".."].permissions == entries["."].permissions


def copy_data(sftp, src, src_off, length, dst, dst_off):
    """The copy-data extension through paramiko's request machinery (it has no API for it)."""
    from paramiko.py3compat import long
    sftp._request(paramiko.sftp.CMD_EXTENDED, "copy-data", src.handle, long(src_off), long(length),
                  dst.handle, long(dst_off))


def test_paramiko(server):
    d = prepare(server, "paramiko")
    t, sftp = login(server.port, USER, PASSWORD)
    try:
        sftp.symlink("target.txt", "/paramiko/link")
        assert sftp.readlink("/paramiko/link") == "target.txt"
        assert sftp.normalize("/paramiko/link") == "/paramiko/target.txt"
        assert sftp.normalize("/paramiko/dlink/..") == "/paramiko"
        sftp.rename("/paramiko/a.txt", "/paramiko/b.txt")
        # copy-data: onto the end of its own source doubles it once; overlapping is refused
        with sftp.open("/paramiko/target.txt", "r") as src, sftp.open("/paramiko/target.txt", "r+") as dst:
            copy_data(sftp, src, 0, 0, dst, 6)
            with pytest.raises(IOError):
                copy_data(sftp, src, 0, 4, dst, 2)
    finally:
        t.close()
    assert_link(d)
    assert_renamed(d)
    with open(os.path.join(d, "target.txt")) as f:
        assert f.read() == "targettarget"


def test_openssh_sftp(server, keys):
    d = prepare(server, "openssh")
    batch = "\n".join([
        "ln -s target.txt /openssh/link",
        "cd /openssh/dlink",
        "pwd",
        "rename /openssh/a.txt /openssh/b.txt",
        "cp /openssh/b.txt /openssh/copy.txt",
        "ls -la /",
    ]) + "\n"
    p = openssh_sftp(server.port, USER, keys.path("ed25519"), batch=batch)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "Remote working directory: /openssh/sub" in p.stdout
    assert_link(d)
    assert_renamed(d)
    with open(os.path.join(d, "copy.txt")) as f:  # cp is copy-data
        assert f.read() == "renamed"
    # ls -la /: '..' shows the root's own mode and link count, not the host parent's
    lines = {l.split()[-1].rsplit("/", 1)[-1]: l.split()[:-1] for l in p.stdout.splitlines()
             if l[:1] in "d-l" and len(l.split()) >= 9}
    assert lines[".."] == lines["."], p.stdout


def test_lftp(server):
    d = prepare(server, "lftp")
    connect = "ssh -a -x -F /dev/null -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"
    out = run(["lftp", "-c", f'set sftp:connect-program "{connect}"; set net:max-retries 1; '
               f"open -u {USER},{PASSWORD} -p {server.port} sftp://127.0.0.1; "
               "ln -s target.txt /lftp/link; mv /lftp/a.txt /lftp/b.txt; cd /lftp/dlink; pwd; cls -la /"])
    assert_link(d)
    assert_renamed(d)
    assert "/lftp/sub" in out or "/lftp/dlink" in out, out


PHP = r"""<?php
require "phpseclib3/autoload.php";
$s = new \phpseclib3\Net\SFTP("127.0.0.1", (int)$argv[1]);
if (!$s->login("alice", "pw")) { fwrite(STDERR, "login failed\n"); exit(2); }
$out = [];
$out["symlink"] = $s->symlink("target.txt", "/php/link");
$out["readlink"] = $s->readlink("/php/link");
$out["rename"] = $s->rename("/php/a.txt", "/php/b.txt");
$list = $s->rawlist("/");
$out["dot"] = $list["."]["mode"];
$out["dotdot"] = $list[".."]["mode"];
$out["dotdot_mtime"] = $list[".."]["mtime"];
echo json_encode($out), "\n";
"""


def test_phpseclib(server, tmp_path):
    if not shutil.which("php") or not os.path.exists("/usr/share/php/phpseclib3/autoload.php"):
        pytest.fail("php-phpseclib3 is not installed (scripts/install-deps installs it)")
    d = prepare(server, "php")
    script = tmp_path / "client.php"
    script.write_text(PHP)
    out = json.loads(run(["php", str(script), str(server.port)]).splitlines()[-1])
    assert out["symlink"] and out["rename"], out
    assert out["readlink"] == "target.txt"
    assert_link(d)
    assert_renamed(d)
    root = os.stat(server.root)
    assert out["dotdot"] == out["dot"] == root.st_mode, out
    assert out["dotdot_mtime"] == int(root.st_mtime)


RUBY = r"""
require "net/sftp"
require "json"
begin
Net::SFTP.start("127.0.0.1", "alice", password: "pw", port: ARGV[0].to_i, verify_host_key: :never,
                non_interactive: true, auth_methods: ["password"]) do |sftp|
  sftp.symlink!("/ruby/link", "target.txt")   # net-sftp: (link path, target), the draft's order
  out = {}
  out["readlink"] = sftp.readlink!("/ruby/link").name
  out["realpath"] = sftp.realpath!("/ruby/link").name
  out["realdir"] = sftp.realpath!("/ruby/dlink/x").name
  sftp.rename!("/ruby/a.txt", "/ruby/b.txt")
  names = {}
  sftp.dir.foreach("/") { |e| names[e.name] = [e.attributes.permissions, e.attributes.mtime] }
  out["dot"] = names["."]
  out["dotdot"] = names[".."]
  puts out.to_json
  $stdout.flush
end
rescue IOError => e
  # net-ssh 7.0 raises "closed stream" when the server hangs up right after the channel
  # close it asked for; everything above has been checked by then
  warn "net-ssh close: #{e}"
end
"""


def test_ruby_net_sftp(server, tmp_path):
    if not shutil.which("ruby"):
        pytest.fail("ruby-net-sftp is not installed (scripts/install-deps installs it)")
    d = prepare(server, "ruby")
    script = tmp_path / "client.rb"
    script.write_text(RUBY)
    out = json.loads(run(["ruby", str(script), str(server.port)]).splitlines()[-1])
    assert out["readlink"] == "target.txt"
    assert out["realpath"] == "/ruby/target.txt"
    assert out["realdir"] == "/ruby/sub/x"
    assert_link(d)
    assert_renamed(d)
    assert out["dotdot"] == out["dot"], out


def test_psftp(server, keys):
    if not shutil.which("psftp"):
        pytest.fail("putty-tools is not installed (scripts/install-deps installs it)")
    d = prepare(server, "psftp")
    batch = os.path.join(server.root, "..", "psftp.batch")
    with open(batch, "w") as f:
        f.write("mv /psftp/a.txt /psftp/b.txt\ncd /psftp/dlink\npwd\nls /\n")
    fp = keys.fingerprint("host_ed25519")
    out = run(["psftp", "-batch", "-hostkey", fp, "-P", str(server.port), "-pw", PASSWORD, "-b", batch,
               f"{USER}@127.0.0.1"])
    assert "Remote directory is /psftp/sub" in out, out
    assert_renamed(d)
    listing = {l.split()[-1]: l.split()[:-1] for l in out.splitlines() if l[:1] in "d-l" and len(l.split()) >= 9}
    assert listing[".."] == listing["."], out


NODE = r"""
const { Client } = require("ssh2");
const port = parseInt(process.argv[2], 10);
const c = new Client();
c.on("ready", () => c.sftp((err, sftp) => {
  if (err) throw err;
  const out = {};
  sftp.symlink("target.txt", "/node/link", (err) => {       // ssh2: symlink(targetPath, linkPath)
    if (err) throw err;
    sftp.readlink("/node/link", (err, target) => {
      if (err) throw err;
      out.readlink = target;
      sftp.realpath("/node/dlink/x", (err, real) => {
        if (err) throw err;
        out.realdir = real;
        sftp.rename("/node/a.txt", "/node/b.txt", (err) => {
          if (err) throw err;
          sftp.readdir("/", (err, list) => {
            if (err) throw err;
            for (const e of list) if (e.filename === "node") out.listed = true;
            console.log(JSON.stringify(out));
            c.end();
          });
        });
      });
    });
  });
})).on("error", (e) => { console.error(String(e)); process.exit(2); })
  .connect({ host: "127.0.0.1", port, username: "alice", password: "pw" });
"""


def node_ssh2():
    """The ssh2 package under <build>/npm (npm install on first use, then reused)."""
    if not shutil.which("node") or not shutil.which("npm"):
        pytest.fail("node and npm are needed (scripts/install-deps installs nodejs and npm)")
    build = os.environ.get("SFTPKIT_BINARY_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "build"))
    prefix = os.path.abspath(os.path.join(build, "npm"))
    if not os.path.exists(os.path.join(prefix, "node_modules", "ssh2", "package.json")):
        os.makedirs(prefix, exist_ok=True)
        run(["npm", "install", "--prefix", prefix, "--no-audit", "--no-fund", "--loglevel=error",
             "--omit=optional", "--ignore-scripts", "ssh2@1"])  # pure JavaScript: no native builds
    return os.path.join(prefix, "node_modules")


def test_node_ssh2(server, tmp_path):
    modules = node_ssh2()
    d = prepare(server, "node")
    script = tmp_path / "client.js"
    script.write_text(NODE)
    out = json.loads(run(["node", str(script), str(server.port)], env=dict(os.environ, NODE_PATH=modules))
                     .splitlines()[-1])
    assert out == {"readlink": "target.txt", "realdir": "/node/sub/x", "listed": True}, out
    assert_link(d)
    assert_renamed(d)


def sshnet_client():
    """tests/integration/sshnet built into <build>/sshnet with the SSH.NET NuGet package (on first
    use, and again when its sources are newer than the build)."""
    if not shutil.which("dotnet"):
        pytest.fail("dotnet is needed for the SSH.NET client (scripts/install-deps)")
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sshnet")
    build = os.environ.get("SFTPKIT_BINARY_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "build"))
    out = os.path.abspath(os.path.join(build, "sshnet"))
    dll = os.path.join(out, "SshNetClient.dll")
    newest = max(os.path.getmtime(os.path.join(here, f)) for f in os.listdir(here))
    if not os.path.exists(dll) or os.path.getmtime(dll) < newest:
        env = dict(os.environ, DOTNET_CLI_TELEMETRY_OPTOUT="1", DOTNET_NOLOGO="1")
        p = subprocess.run(["dotnet", "build", os.path.join(here, "SshNetClient.csproj"), "-c", "Release", "-o", out,
                            "--artifacts-path", out + "-artifacts", "-v", "q"],
                           capture_output=True, text=True, timeout=300, env=env)
        assert p.returncode == 0, f"dotnet build of the SSH.NET client failed:\n{p.stdout[-3000:]}\n{p.stderr[-2000:]}"
    return dll


def test_sshnet(server):
    """SSH.NET sends REALPATH before most requests (its canonical paths), so a link is seen through
    its target as against OpenSSH; SYMLINK's target goes out as the absolute path it resolved,
    which is what the link then holds (OpenSSH stores it the same way). No copy-data: SSH.NET has
    no API for it."""
    dll = sshnet_client()
    d = prepare(server, "sshnet")
    out = json.loads(run(["dotnet", dll, str(server.port), USER, PASSWORD, "/sshnet"]).splitlines()[-1])
    assert os.path.islink(os.path.join(d, "link")) and os.readlink(os.path.join(d, "link")) == "/sshnet/target.txt"
    assert not os.path.lexists(os.path.join(d, "target.txt.lnk"))
    assert out["link_size"] == 6 and out["link_text"] == "target"  # the absolute target resolves in the root
    assert out["link_full_name"] == "/sshnet/target.txt"  # REALPATH resolved the link
    assert out["cd_dlink"] == "/sshnet/sub"
    assert_renamed(d)
    assert out["root_names"] == [".", "..", "sshnet"]
    assert out["dotdot"] == out["dot"] and out["dot"], out
