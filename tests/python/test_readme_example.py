"""The binding README's 30-line program, exactly as printed there: it serves a virtual file system
with its own password check and logs through Python logging (issue 15's "done when")."""
import os
import re
import subprocess
import sys
import time

import paramiko
import pytest

from conftest import ROOT, free_port

README = os.path.join(ROOT, "bindings", "python", "README.md")


def readme_program():
    text = open(README, encoding="utf-8").read()
    section = text.split("## A virtual file system in 30 lines", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_program_is_at_most_30_lines_of_code():
    code = [l for l in readme_program().splitlines() if l.strip() and not l.strip().startswith("#")]
    assert len(code) <= 30, len(code)


def test_the_readme_program_serves_and_logs(tmp_path):
    port = free_port()
    src = readme_program().replace("2222", str(port))
    assert str(port) in src
    app = tmp_path / "app.py"
    app.write_text(src)
    proc = subprocess.Popen([sys.executable, str(app)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        t = None
        for _ in range(100):  # until it listens
            try:
                t = paramiko.Transport(("127.0.0.1", port))
                break
            except (OSError, paramiko.SSHException):
                time.sleep(0.1)
        assert t is not None, "the program never listened"
        t.connect(username="alice", password="s3cret")
        c = paramiko.SFTPClient.from_transport(t)
        with c.open("/hello.txt", "wb") as f:
            f.write(b"hi")
        assert c.listdir("/") == ["hello.txt"]
        with c.open("/hello.txt", "rb") as f:
            assert f.read() == b"hi"
        t.close()
        t = paramiko.Transport(("127.0.0.1", port))
        with pytest.raises(paramiko.AuthenticationException):
            t.connect(username="bob", password="wrong")
        t.close()
    finally:
        out, err = proc.communicate("\n", timeout=60)
    assert proc.returncode == 0, err
    assert "app INFO: login alice (connection" in err and ": ok" in err
    assert "login bob" in err and "refused" in err
    assert "sftpkit.server INFO: listening on port %d" % port in err  # the native log, via logging
    assert "sftpkit.sftp INFO:" in err
