"""The effect of ssh_settings_compression_level over a real connection: OpenSSH's sftp reports
how much the server's compressed stream shrank what it carried (ssh -v 'compress incoming')."""
import os
import random
import re
import subprocess

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
