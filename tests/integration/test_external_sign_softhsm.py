"""A host key whose private half lives only in a PKCS#11 token (SoftHSM2).

The keys are generated inside a fresh SoftHSM2 token with pkcs11-tool; only their public halves
leave it. sfk-external-sign-server's handler signs through pkcs11_sign.sh (pkcs11-tool --sign).
paramiko and OpenSSH's client check the host key strictly against the token's public key.
"""
import os
import subprocess

import paramiko
import pytest
from cryptography.hazmat.primitives import serialization

from test_external_sign import Server, host_key_of  # noqa: F401 (the same server wrapper)

MODULE = "/usr/lib/softhsm/libsofthsm2.so"
SIGNER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pkcs11_sign.sh")
PIN = "1234"
KEYS = {"ec": ("01", "EC:prime256v1"), "rsa": ("02", "rsa:3072"), "ed": ("03", "EC:edwards25519")}


@pytest.fixture(scope="module")
def token(tmp_path_factory):
    for tool in ("softhsm2-util", "pkcs11-tool"):
        if subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True).returncode:
            pytest.fail(f"{tool} is missing: scripts/install-deps installs softhsm2 and opensc")
    d = tmp_path_factory.mktemp("softhsm")
    (d / "tokens").mkdir()
    conf = d / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {d / 'tokens'}\nobjectstore.backend = file\n")
    os.environ["SOFTHSM2_CONF"] = str(conf)  # the server and its signer inherit it
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", "sftpkit", "--so-pin", "4321",
                    "--pin", PIN], check=True, capture_output=True)
    pubs = {}
    for name, (key_id, key_type) in KEYS.items():
        subprocess.run(["pkcs11-tool", "--module", MODULE, "--login", "--pin", PIN, "--keypairgen",
                        "--key-type", key_type, "--id", key_id, "--label", name], check=True, capture_output=True)
        raw = subprocess.run(["pkcs11-tool", "--module", MODULE, "--read-object", "--type", "pubkey", "--id",
                              key_id], check=True, capture_output=True).stdout
        try:
            key = serialization.load_der_public_key(raw)
        except ValueError:  # this pkcs11-tool writes Ed25519 public keys as PEM
            key = serialization.load_pem_public_key(raw)
        line = key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
        (d / f"{name}.pub").write_text(line + "\n")
        pubs[name] = str(d / f"{name}.pub")
    # the private halves cannot be read out of the token
    listing = subprocess.run(["pkcs11-tool", "--module", MODULE, "--login", "--pin", PIN, "--list-objects",
                              "--type", "privkey"], capture_output=True, text=True).stdout
    assert listing.count("Private Key Object") == 3 and "sensitive" in listing
    yield pubs
    os.environ.pop("SOFTHSM2_CONF", None)


@pytest.fixture
def hsm_server(token, tmp_path):
    (tmp_path / "root").mkdir()
    args = ["--user", "u:pw"]
    for name, (key_id, _) in KEYS.items():
        args += ["--external", f"hsm-{name}:{token[name]}:cmd:{SIGNER} {MODULE} {PIN} {key_id}"]
    s = Server(args, tmp_path / "root")
    yield s
    s.close()


@pytest.mark.parametrize("name,algorithm", [("ec", "ecdsa-sha2-nistp256"), ("rsa", "rsa-sha2-256"),
                                            ("rsa", "rsa-sha2-512"), ("ed", "ssh-ed25519")])
def test_paramiko_and_openssh_against_a_key_in_softhsm(token, hsm_server, tmp_path, name, algorithm):
    s = hsm_server
    assert s.ready["ready"] is True, s.ready
    t, key = host_key_of(s.port, algorithm)
    try:
        assert key.get_base64() == open(token[name]).read().split()[1]
        t.auth_password("u", "pw")
        assert paramiko.SFTPClient.from_transport(t).listdir(".") == []
    finally:
        t.close()
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{s.port} {open(token[name]).read()}")
    r = subprocess.run(["ssh", "-F", "/dev/null", "-p", str(s.port), "-o", f"UserKnownHostsFile={known}",
                        "-o", "StrictHostKeyChecking=yes", "-o", f"HostKeyAlgorithms={algorithm}",
                        "-o", "BatchMode=yes", "-o", "PreferredAuthentications=publickey", "u@127.0.0.1", "true"],
                       capture_output=True, text=True, timeout=30)
    # the key exchange and the host key check passed; only the (absent) client key is refused
    assert "Permission denied" in r.stderr, r.stderr
    assert "Host key verification failed" not in r.stderr
    signs = s.wait("on_external_sign", count=2)
    assert [e["operation_id"] for e in signs] == [f"kex-host-signature:hsm-{name}"] * 2
    assert all(e["signed"] for e in signs)


def sample_env():
    """Under ASan: full stacks, so the suppression of SoftHSM2's own EdDSA leak can match its frames."""
    env = dict(os.environ)
    env["LSAN_OPTIONS"] = "suppressions=" + os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                        "lsan-softhsm.supp")
    env["ASAN_OPTIONS"] = ":".join(filter(None, [env.get("ASAN_OPTIONS"), "fast_unwind_on_malloc=0"]))
    return env


@pytest.mark.parametrize("name,algorithm", [("ec", "ecdsa-sha2-nistp256"), ("rsa", "rsa-sha2-512"),
                                            ("ed", "ssh-ed25519")])
def test_the_hsm_sample_signs_with_pkcs11_calls(token, tmp_path, name, algorithm):
    sample = os.path.join(os.path.dirname(os.environ.get("SFTPKIT_EXTERNAL_SIGN_SERVER", "")), "sftpkit-hsm-server")
    assert os.path.exists(sample), f"{sample} was not built (needs libp11-kit-dev)"
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "hello.txt").write_text("hi")
    proc = subprocess.Popen([sample, "--root", str(tmp_path / "root"), "--port", "0", "--module", MODULE,
                             "--pin", PIN, "--key-id", KEYS[name][0], "--public", token[name], "--user", "u:pw"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=sample_env())
    try:
        banner = proc.stdout.readline()
        assert "listening on 127.0.0.1:" in banner, proc.stderr.read()
        port = int(banner.split("127.0.0.1:")[1].split()[0])
        t, key = host_key_of(port, algorithm)
        assert key.get_base64() == open(token[name]).read().split()[1]
        t.auth_password("u", "pw")
        sftp = paramiko.SFTPClient.from_transport(t)
        assert sftp.open("hello.txt").read() == b"hi"
        t.close()
    finally:
        proc.terminate()
        rc = proc.wait(timeout=20)
        assert rc == 0, proc.stderr.read()[-3000:]
