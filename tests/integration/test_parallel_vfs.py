"""Parallel and deferred requests of a virtual file system (config WorkerThreads, issue 14) with
real clients: the sample sftpkit-memfs acts as a slow remote back-end (--latency-ms: every read
and write takes 20 ms, in a sleeping handler or completed later from a timer thread with
--deferred). Every transfer is checked byte for byte; no timing is asserted here (bench/vfs-bench
measures the throughput). paramiko is the client that hangs forever when WRITE replies on one
handle come back out of order, so its 5 MiB upload guards that ordering."""
import asyncio
import hashlib
import os
import re
import signal
import socket
import subprocess
import threading
import time

import paramiko
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
USER, PASSWORD = "vfs", "pw-vfs"
SEED_MIB = 4


def memfs_binary():
    build = os.environ.get("SFTPKIT_BINARY_DIR", os.path.join(REPO, "build"))
    path = os.path.join(build, "bin", "sftpkit-memfs")
    if not os.access(path, os.X_OK):
        pytest.fail(f"sftpkit-memfs not found at {path} (build first)")
    return path


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pattern(mib):
    """The bytes of a --seed file: byte i is (i * 2654435761) >> 13, low 8 bits."""
    return bytes(((i * 2654435761) >> 13) & 0xFF for i in range(mib << 20))


EXPECTED = hashlib.sha256(pattern(SEED_MIB)).hexdigest()


class Memfs:
    def __init__(self, *args):
        self.port = free_port()
        cmd = [memfs_binary(), "--port", str(self.port), "--user", f"{USER}:{PASSWORD}",
               "--seed", f"/data.bin:{SEED_MIB}", *args]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        line = self.proc.stdout.readline()
        if "listening" not in line:
            self.proc.kill()
            pytest.fail(f"sftpkit-memfs did not start: {line}")

    def stop(self, timeout=20):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()


@pytest.fixture(params=["sync", "deferred"])
def slow(request):
    args = ["--latency-ms", "20", "--workers", "16"] + (["--deferred"] if request.param == "deferred" else [])
    srv = Memfs(*args)
    yield srv
    assert srv.stop() == 0


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def paramiko_sftp(port):
    t = paramiko.Transport(("127.0.0.1", port))
    t.connect(username=USER, password=PASSWORD)
    return t, paramiko.SFTPClient.from_transport(t)


def openssh_env(tmp_path):
    askpass = tmp_path / "askpass.sh"
    askpass.write_text(f"#!/bin/sh\necho '{PASSWORD}'\n")
    askpass.chmod(0o700)
    return dict(os.environ, SSH_ASKPASS=str(askpass), SSH_ASKPASS_REQUIRE="force", DISPLAY="none")


def openssh_batch(port, tmp_path, commands):
    # commands on stdin, not -b: batch mode turns password authentication off
    r = subprocess.run(["sftp", "-q", "-B", "261120", "-P", str(port),
                        "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                        "-o", "PreferredAuthentications=password", f"{USER}@127.0.0.1"],
                       input=commands + "bye\n", env=openssh_env(tmp_path), capture_output=True, text=True,
                       timeout=120, start_new_session=True)
    assert r.returncode == 0, r.stderr
    # commands read from stdin do not change sftp's exit status when they fail: their errors do
    failed = [line for line in r.stderr.splitlines() if re.search(r"(?i)couldn't|error|fail|closed", line)]
    assert not failed, r.stderr


def lftp(port, commands):
    script = f"set sftp:auto-confirm yes; set net:max-retries 1; open -u {USER},{PASSWORD} sftp://127.0.0.1:{port}; {commands}"
    r = subprocess.run(["lftp", "-c", script], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


def asyncssh_run(port, coro_fn):
    asyncssh = pytest.importorskip("asyncssh")

    async def main():
        async with asyncssh.connect("127.0.0.1", port, username=USER, password=PASSWORD, known_hosts=None) as conn:
            async with conn.start_sftp_client() as sftp:
                await coro_fn(sftp)

    asyncio.run(main())


def test_paramiko_download_and_upload(slow, tmp_path):
    t, s = paramiko_sftp(slow.port)
    try:
        s.get("/data.bin", str(tmp_path / "p.bin"))  # prefetch: many READs in flight
        assert sha(tmp_path / "p.bin") == EXPECTED
        data = os.urandom(5 << 20)
        with s.open("/up.bin", "wb") as f:  # pipelined WRITEs: replies must keep their order
            f.set_pipelined(True)
            for off in range(0, len(data), 32768):
                f.write(data[off:off + 32768])
        with s.open("/up.bin", "rb") as f:
            back = f.read()
        assert hashlib.sha256(back).digest() == hashlib.sha256(data).digest()
    finally:
        t.close()


def test_openssh_sftp(slow, tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(os.urandom(3 << 20))
    openssh_batch(slow.port, tmp_path, f"get /data.bin {tmp_path}/o.bin\nput {src} /o-up.bin\nget /o-up.bin {tmp_path}/o-back.bin\n")
    assert sha(tmp_path / "o.bin") == EXPECTED
    assert sha(tmp_path / "o-back.bin") == sha(src)


def test_lftp(slow, tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(os.urandom(2 << 20))
    lftp(slow.port, f"get /data.bin -o {tmp_path}/l.bin; put {src} -o /l-up.bin; get /l-up.bin -o {tmp_path}/l-back.bin")
    assert sha(tmp_path / "l.bin") == EXPECTED
    assert sha(tmp_path / "l-back.bin") == sha(src)


def test_asyncssh(slow, tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(os.urandom(3 << 20))

    async def work(sftp):
        await sftp.get("/data.bin", str(tmp_path / "a.bin"))  # parallel block requests
        await sftp.put(str(src), "/a-up.bin")
        await sftp.get("/a-up.bin", str(tmp_path / "a-back.bin"))

    asyncssh_run(slow.port, work)
    assert sha(tmp_path / "a.bin") == EXPECTED
    assert sha(tmp_path / "a-back.bin") == sha(src)


def test_two_sessions_at_once(slow, tmp_path):
    errors = []

    def one(k):
        try:
            t, s = paramiko_sftp(slow.port)
            try:
                s.get("/data.bin", str(tmp_path / f"s{k}.bin"))
            finally:
                t.close()
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=one, args=(k,)) for k in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    assert not errors
    for k in range(2):
        assert sha(tmp_path / f"s{k}.bin") == EXPECTED


def test_disconnect_and_stop_with_requests_pending(tmp_path):
    """A client leaves while its reads wait for an 8 s back-end; the server stays usable, and a
    stop with deferred reads pending returns well before they would have completed."""
    srv = Memfs("--latency-ms", "8000", "--deferred", "--workers", "4")
    try:
        t, s = paramiko_sftp(srv.port)
        f = s.open("/data.bin", "rb")
        f.prefetch()  # READs in flight, all deferred for 8 s
        time.sleep(0.3)
        t.close()  # disconnect: the pending requests are cancelled
        t2, s2 = paramiko_sftp(srv.port)
        assert s2.stat("/data.bin").st_size == SEED_MIB << 20
        f2 = s2.open("/data.bin", "rb")
        f2.prefetch()
        time.sleep(0.3)
        started = time.monotonic()
        rc = srv.stop(timeout=30)  # SIGTERM: stop() and free with those reads pending
        took = time.monotonic() - started
        assert rc == 0
        assert took < 6, f"stop took {took:.1f} s with deferred requests pending"
        t2.close()
    finally:
        srv.stop()
