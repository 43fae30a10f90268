"""External host keys (external_crypto_mode 2): the private half is only in the handler.

sfk-external-sign-server gets each host key as a public key line plus an id; its on_external_sign
handler signs with a PEM key that only it reads (OpenSSL in the handler, playing the HSM). paramiko
and OpenSSH's client check the host key against the real public key (known_hosts, strict).
"""
import binascii
import json
import os
import queue
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import paramiko
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

BINARY = os.environ.get("SFTPKIT_EXTERNAL_SIGN_SERVER")


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    d = tmp_path_factory.mktemp("extkeys")
    out = {}
    for name, args in (("ec", ["-t", "ecdsa", "-b", "256"]), ("ec384", ["-t", "ecdsa", "-b", "384"]),
                       ("ec521", ["-t", "ecdsa", "-b", "521"]),
                       ("rsa", ["-t", "rsa", "-b", "3072"]), ("user", ["-t", "ed25519"]),
                       ("user_rsa", ["-t", "rsa", "-b", "2048"]), ("user_ec", ["-t", "ecdsa"]),
                       ("stranger", ["-t", "ed25519"])):
        extra = ["-m", "PEM"] if name in ("ec", "ec384", "ec521", "rsa") else []
        subprocess.run(["ssh-keygen", "-q", "-N", "", *args, *extra, "-f", str(d / name)], check=True)
        out[name] = str(d / name)
    # Ed25519 in PKCS#8 (what OpenSSL in the handler reads); the public line made from it.
    k = ed25519.Ed25519PrivateKey.generate()
    (d / "ed").write_bytes(k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    (d / "ed.pub").write_bytes(k.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                                           serialization.PublicFormat.OpenSSH) + b"\n")
    out["ed"] = str(d / "ed")
    out["dir"] = d
    return out


class Server:
    def __init__(self, args, root):
        if not BINARY or not os.path.exists(BINARY):
            pytest.fail(f"sfk-external-sign-server not found at {BINARY} (set SFTPKIT_EXTERNAL_SIGN_SERVER)")
        self.proc = subprocess.Popen([BINARY, "--root", str(root), *args], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines = queue.Queue()
        self.events = []
        threading.Thread(target=self._read, daemon=True).start()
        self.ready = self.lines.get(timeout=15)
        self.port = self.ready.get("port")

    def _read(self):
        for line in self.proc.stdout:
            obj = json.loads(line)
            if "event" in obj:
                self.events.append(obj)
            else:
                self.lines.put(obj)

    def find(self, name):
        return [e for e in self.events if e["event"] == name]

    def wait(self, name, count=1, timeout=10.0):
        end = time.time() + timeout
        while time.time() < end:
            found = self.find(name)
            if len(found) >= count:
                return found
            time.sleep(0.02)
        raise AssertionError(f"{count} x {name} not seen; events: {self.events}")

    def command(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self.lines.get(timeout=15)

    def close(self):
        if self.proc.returncode is not None and getattr(self, "_closed", False):
            return self.proc.returncode
        self._closed = True
        if self.proc.poll() is None:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.flush()
        rc = self.proc.wait(timeout=20)
        err = self.proc.stderr.read()
        assert not any(m in err for m in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error")), err
        assert rc == (0 if self.ready.get("ready") else 1), f"exit status {rc}: {err[-3000:]}"
        return rc


@pytest.fixture
def server(tmp_path):
    servers = []
    (tmp_path / "root").mkdir()

    def make(*args):
        s = Server(args, tmp_path / "root")
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.close()


def ext(keys, name, key_id=None):
    return ["--external", f"{key_id or name}:{keys[name]}.pub:{keys[name]}"]


def host_key_of(port, algorithm):
    t = paramiko.Transport(("127.0.0.1", port))
    t._preferred_keys = (algorithm,)
    try:
        t.start_client(timeout=10)
        return t, t.get_remote_server_key()
    except Exception:
        t.close()
        raise


def public_blob(path):
    return open(path + ".pub").read().split()[1]


ALGORITHMS = [("ec", "ecdsa-sha2-nistp256", "SHA256", 32), ("ec384", "ecdsa-sha2-nistp384", "SHA384", 48),
              ("ec521", "ecdsa-sha2-nistp521", "SHA512", 64),
              ("rsa", "rsa-sha2-256", "SHA256", 32), ("rsa", "rsa-sha2-512", "SHA512", 64),
              ("ed", "ssh-ed25519", "", 32)]


@pytest.mark.parametrize("name,algorithm,hash_name,data_len", ALGORITHMS)
def test_paramiko_login_against_the_real_public_key(keys, server, name, algorithm, hash_name, data_len):
    s = server("--user", "u:pw", *ext(keys, name, "hsm-" + name))
    t, key = host_key_of(s.port, algorithm)
    try:
        assert key.get_base64() == public_blob(keys[name])
        t.auth_password("u", "pw")
        sftp = paramiko.SFTPClient.from_transport(t)
        sftp.open("proof.txt", "w").write(b"signed outside")
        assert sftp.listdir(".") == ["proof.txt"]
    finally:
        t.close()
    [sign] = s.wait("on_external_sign")
    assert sign["operation_id"] == "kex-host-signature:hsm-" + name
    assert sign["hash_algorithm"] == hash_name
    assert len(binascii.unhexlify(sign["data"])) == data_len
    scheme = {"ec": "ecdsa-der", "ec384": "ecdsa-der", "ec521": "ecdsa-der", "rsa": "rsa-pkcs1v15",
              "ed": "ed25519"}[name]
    pubalg = open(keys[name] + ".pub").read().split()[0]
    assert binascii.unhexlify(sign["pars"]).decode() == f"{pubalg};{scheme}"
    assert sign["connection_id"] == 1


@pytest.mark.parametrize("name,algorithm", [("ec", "ecdsa-sha2-nistp256"), ("rsa", "rsa-sha2-512"),
                                            ("rsa", "rsa-sha2-256"), ("ed", "ssh-ed25519")])
def test_openssh_checks_the_host_key_strictly(keys, server, tmp_path, name, algorithm):
    s = server("--user", "u:pw", "--user-key", f"u:{keys['user']}.pub", *ext(keys, "ec"), *ext(keys, "rsa"),
               *ext(keys, "ed"))
    known = tmp_path / "known_hosts"
    known.write_text("".join(f"[127.0.0.1]:{s.port} {open(keys[n] + '.pub').read()}" for n in ("ec", "rsa", "ed")))
    r = subprocess.run(["sftp", "-b", "-", "-P", str(s.port), "-F", "/dev/null", "-i", keys["user"],
                        "-o", f"UserKnownHostsFile={known}", "-o", "StrictHostKeyChecking=yes",
                        "-o", f"HostKeyAlgorithms={algorithm}", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
                        "u@127.0.0.1"], input="mkdir made-by-openssh\nls\n", capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, r.stderr
    assert "made-by-openssh" in r.stdout
    ops = [e["operation_id"] for e in s.wait("on_external_sign")]
    assert ops == [f"kex-host-signature:{name}"]


def test_several_external_keys_and_rekeying(keys, server):
    s = server("--user", "u:pw", *ext(keys, "ec"), *ext(keys, "rsa"), *ext(keys, "ed"))
    seen = []
    for algorithm, key_id in (("ssh-ed25519", "ed"), ("ecdsa-sha2-nistp256", "ec"), ("rsa-sha2-512", "rsa")):
        t, key = host_key_of(s.port, algorithm)
        try:
            assert key.get_base64() == public_blob(keys[key_id])
            t.auth_password("u", "pw")
            sftp = paramiko.SFTPClient.from_transport(t)
            before = len(s.find("on_external_sign"))
            t.renegotiate_keys()  # a re-key signs the new exchange hash with the same key
            s.wait("on_external_sign", count=before + 1)
            sftp.open(f"after-rekey-{key_id}", "w").write(b"x" * 100000)
            assert sftp.stat(f"after-rekey-{key_id}").st_size == 100000
            seen.append(key_id)
        finally:
            t.close()
    signs = s.find("on_external_sign")
    assert [e["operation_id"].split(":")[1] for e in signs] == ["ed", "ed", "ec", "ec", "rsa", "rsa"]
    assert seen == ["ed", "ec", "rsa"]


def test_many_concurrent_connections_sign_at_once(keys, server):
    # 12 unauthenticated connections from one address at once: above the admission defaults
    s = server("--user", "u:pw", *ext(keys, "ec"), *ext(keys, "ed"), "--config", "PerSourceMaxStartups=64",
               "--config", "MaxStartups=64:30:100")

    def one(i):
        t, _ = host_key_of(s.port, "ssh-ed25519" if i % 2 else "ecdsa-sha2-nistp256")
        try:
            t.auth_password("u", "pw")
            return paramiko.SFTPClient.from_transport(t).listdir(".") == []
        finally:
            t.close()

    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(one, range(24)))
    assert results == [True] * 24
    signs = s.wait("on_external_sign", count=24)
    assert len({e["connection_id"] for e in signs}) == 24
    assert s.find("on_error") == [] or all("connection lost" in e["description"] or "closed" in e["description"]
                                          for e in s.find("on_error"))


@pytest.mark.parametrize("fault,why", [
    ("none", "returned no signed_data"),
    ("garbage", "signed_data is not hex"),
    ("wrong", "is not a valid DER ECDSA signature by this key"),
    ("short", "is not a valid DER ECDSA signature by this key"),
])
def test_a_bad_signature_fails_that_key_exchange_only(keys, server, fault, why):
    s = server("--user", "u:pw", *ext(keys, "ec"), *ext(keys, "ed"), "--fault", f"ec:{fault}")
    with pytest.raises(paramiko.SSHException):
        host_key_of(s.port, "ecdsa-sha2-nistp256")
    [error] = [e for e in s.wait("on_error") if "key exchange failed" in e["description"]]
    assert f'external signing with host key "ec" failed: ' in error["description"]
    assert why in error["description"]
    # the process and the other key are fine
    t, key = host_key_of(s.port, "ssh-ed25519")
    t.auth_password("u", "pw")
    t.close()
    assert s.proc.poll() is None


def test_a_wrong_rsa_or_ed25519_signature_is_refused_too(keys, server):
    s = server("--user", "u:pw", *ext(keys, "rsa"), *ext(keys, "ed"), "--fault", "rsa:wrong", "--fault", "ed:wrong")
    for algorithm, why in (("rsa-sha2-256", "PKCS#1 v1.5"), ("ssh-ed25519", "Ed25519")):
        with pytest.raises(paramiko.SSHException):
            host_key_of(s.port, algorithm)
    errors = [e["description"] for e in s.wait("on_error", count=2) if "key exchange failed" in e["description"]]
    assert any("not a valid PKCS#1 v1.5 signature" in e for e in errors), errors
    assert any("not a valid Ed25519 signature" in e for e in errors), errors


@pytest.mark.parametrize("mode,message", [("0", "set external_crypto_mode = 2"), ("1", "set external_crypto_mode = 2"),
                                          ("3", "(DCAuth) is not supported"), ("4", "(DCAuth) is not supported")])
def test_start_refuses_other_modes_clearly(keys, server, mode, message):
    s = server("--mode", mode, *ext(keys, "ec"))
    assert s.ready["ready"] is False
    assert s.ready["error_code"] == 1048578
    assert message in s.ready["error"]


def test_restart_keeps_signing(keys, server):
    s = server("--user", "u:pw", *ext(keys, "ed"))
    assert s.command("stop")["rc"] == 0
    assert s.command("start")["rc"] == 0
    t, key = host_key_of(s.port, "ssh-ed25519")
    t.auth_password("u", "pw")
    t.close()
    assert len(s.wait("on_external_sign")) == 1


# ---- the pass-through: ordinary keys behave the same with the provider preferred --------------

def ordinary_key_results(keys, server, with_external):
    """Ordinary host keys and client public-key logins (good keys, an unknown key), with or
    without an external key configured (which is what switches the provider preference on)."""
    d = keys["dir"]
    authorized = d / "authorized_keys"
    authorized.write_text("".join(open(keys[n] + ".pub").read() for n in ("user", "user_rsa", "user_ec")))
    args = ["--user", "u:pw", "--user-key", f"u:{authorized}", "--host-key", keys["rsa"], "--host-key", keys["user_ec"]]
    if with_external:
        args += ext(keys, "ed")
    s = server(*args)
    out = []
    for algorithm in ("rsa-sha2-512", "rsa-sha2-256", "ecdsa-sha2-nistp256"):
        t, key = host_key_of(s.port, algorithm)
        out.append((algorithm, key.get_base64()))
        for user_key in ("user", "user_rsa", "user_ec", "stranger"):
            pkey = paramiko.PKey.from_path(keys[user_key]) if hasattr(paramiko.PKey, "from_path") else None
            if pkey is None:
                loader = {"user": paramiko.Ed25519Key, "stranger": paramiko.Ed25519Key,
                          "user_rsa": paramiko.RSAKey, "user_ec": paramiko.ECDSAKey}[user_key]
                pkey = loader.from_private_key_file(keys[user_key])
            try:
                t.auth_publickey("u", pkey)
                out.append((algorithm, user_key, t.is_authenticated()))
            except paramiko.AuthenticationException:
                out.append((algorithm, user_key, False))
            if t.is_authenticated():
                t.close()
                t, _ = host_key_of(s.port, algorithm)
        t.close()
    assert s.find("on_external_sign") == []  # nothing ordinary went to the application
    s.close()
    return out


def test_ordinary_keys_give_the_same_results_with_the_provider_preferred(keys, server):
    without = ordinary_key_results(keys, server, with_external=False)
    with_provider = ordinary_key_results(keys, server, with_external=True)
    assert with_provider == without
    # and the results are the expected ones, not merely equal
    logins = {(a, k): ok for a, k, ok in (r for r in without if len(r) == 3)}
    assert all(ok for (a, k), ok in logins.items() if k != "stranger")
    assert not any(ok for (a, k), ok in logins.items() if k == "stranger")


KEXES = ["ecdh-sha2-nistp256", "ecdh-sha2-nistp384", "ecdh-sha2-nistp521", "diffie-hellman-group14-sha256",
         "diffie-hellman-group16-sha512", "curve25519-sha256@libssh.org"]


def test_every_key_exchange_with_the_provider_preferred(keys, server):
    """ECDH keys are made by the preferred provider and used by the default one's key exchange:
    every KEX, with the external key and with ordinary host keys, while the preference is on."""
    s = server("--user", "u:pw", "--host-key", keys["user"], "--host-key", keys["rsa"], *ext(keys, "ec"))
    results = {}
    for kex in KEXES:
        for algorithm in ("ecdsa-sha2-nistp256", "ssh-ed25519", "rsa-sha2-512"):
            t = paramiko.Transport(("127.0.0.1", s.port))
            t._preferred_kex = (kex,)
            t._preferred_keys = (algorithm,)
            try:
                t.start_client(timeout=10)
                t.auth_password("u", "pw")
                results[(kex, algorithm)] = paramiko.SFTPClient.from_transport(t).listdir(".") == []
            finally:
                t.close()
    assert results == {(k, a): True for k in KEXES for a in ("ecdsa-sha2-nistp256", "ssh-ed25519", "rsa-sha2-512")}
    assert len(s.find("on_external_sign")) == len(KEXES)  # only the external key's exchanges asked


def test_a_failed_re_key_signature_drops_that_connection_only(keys, server):
    s = server("--user", "u:pw", *ext(keys, "ed"), "--fault", "ed:rekey")
    t, _ = host_key_of(s.port, "ssh-ed25519")
    t.auth_password("u", "pw")
    sftp = paramiko.SFTPClient.from_transport(t)
    assert sftp.listdir(".") == []
    with pytest.raises(Exception):  # the server cannot sign the re-key: the connection ends
        t.renegotiate_keys()
        sftp.listdir(".")
    t.close()
    errors = [e["description"] for e in s.wait("on_error")]
    assert any("connection 1: key exchange failed: external signing with host key \"ed\" failed: the on_external_sign "
               "handler returned no signed_data" in e for e in errors), errors
    assert s.proc.poll() is None
