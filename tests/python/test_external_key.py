"""External host keys from Python: the on_external_sign handler signs with `cryptography` on many
server threads at once (the GIL taken per call), and bad input to import_external is refused."""
import binascii
import threading

import paramiko
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils

from sftpkit import SFTPKitError, SFTPServer, SSHKey

from conftest import free_port


def test_twelve_concurrent_logins_signed_by_a_python_handler(tmp_path):
    private = ec.generate_private_key(ec.SECP384R1())  # the "HSM": only the handler has it
    line = private.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                             serialization.PublicFormat.OpenSSH).decode()
    key = SSHKey()
    key.import_external(line, "py-hsm")
    assert key.export_public().split()[:2] == line.split()[:2]
    srv = SFTPServer()
    srv.server_key_count = 1
    srv.set_server_key_handle(0, key.handle)
    key.close()
    srv.external_crypto_mode = 2
    srv.config("PerSourceMaxStartups=64")  # 12 unauthenticated connections from one address at once
    srv.config("MaxStartups=64:30:100")
    srv.host, srv.port, srv.base_dir = "127.0.0.1", free_port(), str(tmp_path)
    srv.user_count = 1
    srv.set_user_username(0, "u")
    srv.set_user_password(0, "pw")
    lock = threading.Lock()
    seen = []

    def on_external_sign(p):
        assert p.operation_id == "kex-host-signature:py-hsm" and p.hash_algorithm == "SHA384"
        digest = binascii.unhexlify(p.data)
        p.signed_data = private.sign(digest, ec.ECDSA(utils.Prehashed(hashes.SHA384()))).hex()
        with lock:
            seen.append((p.connection_id, threading.get_ident()))

    srv.on_external_sign = on_external_sign
    srv.start()
    errors = []

    def client(n):
        try:
            t = paramiko.Transport(("127.0.0.1", srv.port))
            t._preferred_keys = ("ecdsa-sha2-nistp384",)
            t.start_client(timeout=30)
            assert t.get_remote_server_key().get_base64() == line.split()[1]
            t.auth_password("u", "pw")
            assert paramiko.SFTPClient.from_transport(t).listdir(".") == []
            t.close()
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append((n, repr(e)))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(12)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    srv.close()
    assert errors == []
    assert len({cid for cid, _ in seen}) == 12
    assert len({tid for _, tid in seen}) > 1  # signed on several server threads


@pytest.mark.parametrize("line,key_id,code", [
    ("ssh-ed25519 AAAA", "x", 1048602),
    ("ecdsa-sha2-nistp256 not-base64", "x", 1048602),
])
def test_import_external_refuses_bad_public_keys(line, key_id, code):
    with SSHKey() as key:
        with pytest.raises(SFTPKitError) as e:
            key.import_external(line, key_id)
        assert e.value.code == code


def test_import_external_refuses_bad_ids():
    private = ec.generate_private_key(ec.SECP256R1())
    line = private.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                             serialization.PublicFormat.OpenSSH).decode()
    with SSHKey() as key:
        for bad in ("", "tab\there", "x" * 257):
            with pytest.raises(SFTPKitError) as e:
                key.import_external(line, bad)
            assert e.value.code == 1048580
        key.import_external(line, "x" * 256)
