"""Algorithm settings on the wire: what the lists remove cannot be negotiated, pin_client shows
what was negotiated (cipher, MAC, KEX, host key, compression, client software, the client's
KEXINIT), several host keys serve together, the banner, forced compression and strict kex."""
import paramiko
import pytest

from conftest import HeldSftp, last_connection_id, login, openssh_sftp, transport

HOST_KEYS = ("host_ed25519", "host_rsa", "host_ecdsa")


def user_args(keys):
    return ["--user", "bob:builder", "--user-key", f"bob:{keys.pub('ed25519')}",
            "--user-key", f"bob:{keys.pub('rsa')}"]


def test_a_removed_cipher_cannot_be_negotiated(make_server, keys):
    server = make_server(*user_args(keys), "--ciphers", "-aes128-ctr")
    r = openssh_sftp(server.port, "bob", keys.path("ed25519"), extra=["-c", "aes128-ctr"])
    assert r.returncode != 0
    assert not server.find("on_session_established")
    # the client only sees the connection close (libssh decides first); the server says why
    error = server.wait_event("on_error")
    err = error["description"]
    assert "key exchange failed" in err and "encryption" in err and "aes128-ctr" in err, err
    assert error["error_code"] == 1048641  # SFTPKIT_ERROR_KEY_EXCHANGE_FAILED
    # what is left still works, and pin shows it
    held = HeldSftp(server, server.port, "bob", keys.path("ed25519"), extra=["-c", "aes192-ctr"])
    pinned = server.pin(held.connection_id)
    assert pinned["encryption_algorithm_inbound"] == pinned["encryption_algorithm_outbound"] == "aes192-ctr"
    assert pinned["inbound_encryption_key_bits"] == pinned["outbound_encryption_key_bits"] == 192
    assert held.finish()[0] == 0


def test_only_listed_algorithms_remain(make_server, keys):
    server = make_server(*user_args(keys), "--ciphers", "-all,aes256-gcm", "--kex", "-all,ecdh-sha2-nistp521",
                         "--macs", "-all,hmac-sha2-512", "--pubkey-algs", "-all,ssh-ed25519",
                         host_keys=HOST_KEYS)
    refused = (["-c", "chacha20-poly1305@openssh.com"], ["-o", "KexAlgorithms=curve25519-sha256"],
               ["-c", "aes256-ctr", "-o", "MACs=hmac-sha2-256"], ["-o", "HostKeyAlgorithms=rsa-sha2-512"])
    for n, extra in enumerate(refused, 1):
        r = openssh_sftp(server.port, "bob", keys.path("ed25519"), extra=extra)
        assert r.returncode != 0, extra
        assert "key exchange failed" in server.wait_event("on_error", count=n)["description"]
    # the public-key list also limits the client keys accepted
    r = openssh_sftp(server.port, "bob", keys.path("rsa"))
    assert r.returncode != 0 and "Permission denied" in r.stderr
    held = HeldSftp(server, server.port, "bob", keys.path("ed25519"))
    pinned = server.pin(held.connection_id)
    assert pinned["encryption_algorithm_inbound"] == "aes256-gcm@openssh.com"
    assert pinned["kex_algorithm"] == "ecdh-sha2-nistp521" and pinned["kex_bits"] == 521
    assert pinned["public_key_algorithm"] == "ssh-ed25519"
    assert held.finish()[0] == 0


def test_pin_shows_what_openssh_negotiated(make_server, keys):
    server = make_server(*user_args(keys), host_keys=HOST_KEYS)
    held = HeldSftp(server, server.port, "bob", keys.path("ed25519"),
                    extra=["-c", "aes256-ctr", "-o", "MACs=hmac-sha2-512-etm@openssh.com",
                           "-o", "KexAlgorithms=ecdh-sha2-nistp384", "-o", "HostKeyAlgorithms=rsa-sha2-512", "-C"])
    p = server.pin(held.connection_id)
    assert p["client_software_name"].startswith("SSH-2.0-OpenSSH_")
    assert p["encryption_algorithm_inbound"] == p["encryption_algorithm_outbound"] == "aes256-ctr"
    assert p["inbound_encryption_key_bits"] == 256
    assert p["mac_algorithm_inbound"] == p["mac_algorithm_outbound"] == "hmac-sha2-512-etm@openssh.com"
    assert p["kex_algorithm"] == "ecdh-sha2-nistp384" and p["kex_bits"] == 384
    assert p["compression_algorithm_inbound"] == p["compression_algorithm_outbound"] == "zlib@openssh.com"
    # the RSA host key (an OpenSSH-format file) served the rsa-sha2-512 signature
    assert p["public_key_algorithm"] == "rsa-sha2-512"
    assert p["server_key_bits"] == 3072
    assert p["server_key_fingerprint"] == keys.fingerprint("host_rsa")
    assert p["client_key_algorithm"] == "ssh-ed25519"
    assert p["client_key_fingerprint"] == keys.fingerprint("ed25519")
    # kex_lines: the client's KEXINIT (what it offered), not ours
    lines = p["kex_lines"].splitlines()
    assert lines[0] == "kex algos: ecdh-sha2-nistp384,ext-info-c,kex-strict-c-v00@openssh.com"
    assert "server host key algo: rsa-sha2-512" in lines
    assert "kex-strict-s-v00@openssh.com" not in p["kex_lines"]
    assert held.finish()[0] == 0


@pytest.mark.parametrize("host_key_alg,key_name,bits", [("ssh-ed25519", "host_ed25519", 256),
                                                        ("ecdsa-sha2-nistp384", "host_ecdsa", 384),
                                                        ("rsa-sha2-256", "host_rsa", 3072)])
def test_every_host_key_serves(make_server, keys, host_key_alg, key_name, bits):
    server = make_server(*user_args(keys), host_keys=HOST_KEYS)
    t = transport(server.port)
    t.close()
    held = HeldSftp(server, server.port, "bob", keys.path("ed25519"), extra=["-o", f"HostKeyAlgorithms={host_key_alg}"])
    p = server.pin(held.connection_id)
    assert p["public_key_algorithm"] == host_key_alg
    assert p["server_key_fingerprint"] == keys.fingerprint(key_name)
    assert p["server_key_bits"] == bits
    assert held.finish()[0] == 0


def test_paramiko_pin_and_aead_macs(make_server, keys):
    server = make_server(*user_args(keys))
    t, sftp = login(server.port, "bob", password="builder", _preferred_ciphers=("aes256-ctr",),
                    _preferred_kex=("diffie-hellman-group14-sha256",), _preferred_macs=("hmac-sha2-256",))
    p = server.pin(last_connection_id(server))
    assert p["client_software_name"] == "SSH-2.0-" + t.local_version.split("-", 2)[2]
    assert p["encryption_algorithm_inbound"] == "aes256-ctr"
    assert p["kex_algorithm"] == "diffie-hellman-group14-sha256" and p["kex_bits"] == 2048
    assert p["mac_algorithm_outbound"] == "hmac-sha2-256"
    assert p["client_key_algorithm"] == "" and p["client_key_bits"] == 0  # a password login
    t.close()
    held = HeldSftp(server, server.port, "bob", keys.path("ed25519"), extra=["-c", "chacha20-poly1305@openssh.com"])
    p = server.pin(held.connection_id)
    assert p["encryption_algorithm_inbound"] == "chacha20-poly1305@openssh.com"
    assert p["mac_algorithm_inbound"] == "aead-poly1305"  # the AEAD's own integrity, no separate MAC
    assert held.finish()[0] == 0


def test_software_name_is_the_banner(make_server, keys):
    server = make_server(*user_args(keys), "--software-name", "AcmeSFTP_2.5")
    t = transport(server.port)
    assert t.remote_version == "SSH-2.0-AcmeSFTP_2.5"
    t.close()
    server = make_server(*user_args(keys))
    t = transport(server.port)
    assert t.remote_version.startswith("SSH-2.0-sftpkit_")
    t.close()


@pytest.mark.parametrize("flag", ["--force-compression", "--ssh-force-compression"])  # the two properties
def test_force_compression(make_server, keys, flag):
    server = make_server(*user_args(keys), flag)
    # paramiko without compression offers only "none": no common method
    with pytest.raises((paramiko.SSHException, EOFError, OSError)):
        transport(server.port)
    assert "compression" in server.wait_event("on_error")["description"]
    # OpenSSH with Compression=no still offers zlib after none: forced, it gets zlib
    held = HeldSftp(server, server.port, "bob", keys.path("ed25519"), extra=["-o", "Compression=no"])
    p = server.pin(held.connection_id)
    assert p["compression_algorithm_inbound"] == p["compression_algorithm_outbound"] == "zlib@openssh.com"
    assert held.finish()[0] == 0
    # and a compression list without zlib switches it off entirely
    server = make_server(*user_args(keys), "--compression", "-all,none")
    held = HeldSftp(server, server.port, "bob", keys.path("ed25519"), extra=["-C"])
    assert server.pin(held.connection_id)["compression_algorithm_outbound"] == "none"
    assert held.finish()[0] == 0


def test_use_strict_key_exchange(make_server, keys):
    """paramiko 2.12 has no strict kex; OpenSSH 9.2p1 in Debian 12 has it (the Terrapin fix)."""
    # 3: required
    server = make_server(*user_args(keys), "--config", "UseStrictKeyExchange=3")
    with pytest.raises((paramiko.SSHException, EOFError, OSError)):
        login(server.port, "bob", password="builder")
    err = server.wait_event("on_error")
    assert "strict key exchange" in err["description"]
    r = openssh_sftp(server.port, "bob", keys.path("ed25519"))
    assert r.returncode == 0, r.stderr
    # 2: without strict kex only algorithms Terrapin does not affect
    server = make_server(*user_args(keys), "--config", "UseStrictKeyExchange=2")
    with pytest.raises((paramiko.SSHException, EOFError, OSError)):
        login(server.port, "bob", password="builder", _preferred_ciphers=("aes128-ctr",),
              _preferred_macs=("hmac-sha2-256-etm@openssh.com",))
    assert "Terrapin" in server.wait_event("on_error")["description"]
    t, sftp = login(server.port, "bob", password="builder", _preferred_ciphers=("aes128-ctr",),
                    _preferred_macs=("hmac-sha2-256",))
    sftp.listdir(".")
    t.close()
    held = HeldSftp(server, server.port, "bob", keys.path("ed25519"), extra=["-c", "chacha20-poly1305@openssh.com"])
    assert held.finish()[0] == 0  # OpenSSH has strict kex: everything is allowed
    # 1 (default): anything goes
    server = make_server(*user_args(keys))
    t, _ = login(server.port, "bob", password="builder", _preferred_macs=("hmac-sha2-256-etm@openssh.com",))
    t.close()
