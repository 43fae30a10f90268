"""Authentication with real clients: each method right and wrong (password, public key with
paramiko and OpenSSH's sftp, keyboard-interactive with a password and with HOTP/TOTP codes),
AuthMode all-of, auth_types, the on_auth_* vetoes and verdicts, the failed-attempt limit and the
per-user base path."""
import hashlib
import hmac
import os
import time

import paramiko
import pytest

from conftest import last_connection_id, login, open_sftp, openssh_sftp, transport

HOTP_SECRET = "12345678901234567890"
TOTP_SECRET = "12345678901234567890123456789012"
AT_PUBLICKEY, AT_PASSWORD, AT_KEYBOARD = 2, 4, 16


def otp(secret, counter, digits, digest):
    mac = hmac.new(secret.encode(), counter.to_bytes(8, "big"), digest).digest()
    off = mac[-1] & 0x0F
    return str((int.from_bytes(mac[off:off + 4], "big") & 0x7FFFFFFF) % 10 ** digits).zfill(digits)


def users(keys):
    return ["--user", "alice:wonderland", "--user-key", f"alice:{keys.pub('ed25519')}",
            "--user-key", f"alice:{keys.pub('rsa')}", "--user-key", f"alice:{keys.pub('ecdsa')}",
            "--user", "bob:builder",
            "--otp", f"hotp:hotp:SHA1:6:0:{HOTP_SECRET}", "--otp", f"totp:totp:SHA256:8:30:{TOTP_SECRET}"]


@pytest.fixture
def server(make_server, keys):
    return make_server(*users(keys))


def answers(*values):
    """A paramiko keyboard-interactive handler that answers each prompt in turn, recording them."""
    seen = []

    def handler(title, instructions, prompts):
        seen.extend(p for p, _ in prompts)
        return list(values[:len(prompts)])

    handler.prompts = seen
    return handler


# ---- password -------------------------------------------------------------------------------------

def test_password_right_and_wrong(server):
    with open(os.path.join(server.root, "hello.txt"), "w") as f:
        f.write("hi")
    t = transport(server.port)
    with pytest.raises(paramiko.AuthenticationException):
        t.auth_password("bob", "wrong")
    cid = last_connection_id(server)
    failed = server.wait_event("on_auth_failed", connection_id=cid)
    assert failed["username"] == "bob" and failed["auth_type"] == AT_PASSWORD
    pw = server.find("on_auth_password", connection_id=cid)[0]
    assert pw["password"] == "wrong" and pw["accept"] == 0
    # the same connection may try again
    t.auth_password("bob", "builder")
    assert t.is_authenticated()
    assert "hello.txt" in open_sftp(t).listdir(".")
    ok = server.wait_event("on_auth_succeeded", connection_id=cid)
    assert ok["username"] == "bob" and ok["auth_type"] == AT_PASSWORD
    attempts = server.find("on_auth_attempt", connection_id=cid)
    assert [a["auth_type"] for a in attempts] == [AT_PASSWORD, AT_PASSWORD]
    t.close()


def test_password_of_unknown_user_and_empty_password(server):
    t = transport(server.port)
    for user, password in (("mallory", "wonderland"), ("alice", ""), ("bob", "builder ")):
        with pytest.raises(paramiko.AuthenticationException):
            t.auth_password(user, password)
    t.close()
    server.wait_event("on_auth_failed", count=3)
    assert not server.find("on_auth_succeeded")


# ---- public key -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name,algorithm,bits", [("ed25519", "ssh-ed25519", 256), ("rsa", "ssh-rsa", 2048),
                                                 ("ecdsa", "ecdsa-sha2-nistp256", 256)])
def test_publickey_paramiko(server, keys, name, algorithm, bits):
    t, sftp = login(server.port, "alice", pkey=keys.paramiko(name))
    cid = last_connection_id(server)
    ev = server.wait_event("on_auth_public_key", connection_id=cid)
    assert ev["username"] == "alice" and ev["accept"] == 1
    # key_* show the client's key while the event runs
    assert ev["key_fingerprint_sha256"] == keys.fingerprint(name)
    assert server.wait_event("on_auth_succeeded", connection_id=cid)["auth_type"] == AT_PUBLICKEY
    pinned = server.pin(cid)
    assert pinned["client_key_algorithm"] == algorithm
    assert pinned["client_key_fingerprint"] == keys.fingerprint(name)
    assert pinned["client_key_bits"] == bits
    sftp.listdir(".")
    t.close()


def test_publickey_unauthorized_key_is_refused(server, keys):
    t = transport(server.port)
    with pytest.raises(paramiko.AuthenticationException):
        t.auth_publickey("alice", keys.paramiko("stranger"))
    # bob has no keys at all
    with pytest.raises(paramiko.AuthenticationException):
        t.auth_publickey("bob", keys.paramiko("ed25519"))
    t.close()
    cid = last_connection_id(server)
    server.wait_event("on_auth_failed", count=2, connection_id=cid)
    failed = server.find("on_auth_failed", connection_id=cid)
    assert [(f["username"], f["auth_type"]) for f in failed] == [("alice", AT_PUBLICKEY), ("bob", AT_PUBLICKEY)]
    assert all(e["accept"] == 0 for e in server.find("on_auth_public_key"))
    assert not server.find("on_auth_succeeded")


def test_publickey_openssh_sftp(server, keys):
    with open(os.path.join(server.root, "from-server.txt"), "w") as f:
        f.write("x")
    for name in ("ed25519", "rsa", "ecdsa"):
        r = openssh_sftp(server.port, "alice", keys.path(name), batch="ls\n")
        assert r.returncode == 0, r.stderr
        assert "from-server.txt" in r.stdout
    r = openssh_sftp(server.port, "alice", keys.path("stranger"))
    assert r.returncode != 0
    assert "Permission denied" in r.stderr
    server.wait_event("on_auth_succeeded", count=3)


# ---- keyboard-interactive ---------------------------------------------------------------------------

def test_keyboard_interactive_password(server):
    t = transport(server.port)
    wrong = answers("nope")
    with pytest.raises(paramiko.AuthenticationException):
        t.auth_interactive("bob", wrong)
    assert wrong.prompts == ["Password: "]
    t.auth_interactive("bob", answers("builder"))
    assert t.is_authenticated()
    cid = last_connection_id(server)
    assert server.wait_event("on_auth_succeeded", connection_id=cid)["auth_type"] == AT_KEYBOARD
    assert [e["auth_type"] for e in server.find("on_auth_attempt", connection_id=cid)] == [AT_KEYBOARD] * 2
    open_sftp(t).listdir(".")
    t.close()


def test_hotp_code_works_once_and_the_counter_advances(server):
    handler = answers(otp(HOTP_SECRET, 0, 6, hashlib.sha1))
    t = transport(server.port)
    t.auth_interactive("hotp", handler)
    assert t.is_authenticated()
    assert handler.prompts == ["One-time password: "]
    t.close()
    # the same code again: refused (the counter moved to 1)
    t = transport(server.port)
    with pytest.raises(paramiko.AuthenticationException):
        t.auth_interactive("hotp", answers(otp(HOTP_SECRET, 0, 6, hashlib.sha1)))
    # a wrong code, then the next counter's code, on the same connection
    with pytest.raises(paramiko.AuthenticationException):
        t.auth_interactive("hotp", answers("000000"))
    t.auth_interactive("hotp", answers(otp(HOTP_SECRET, 1, 6, hashlib.sha1)))
    assert t.is_authenticated()
    open_sftp(t).listdir(".")
    t.close()
    # an OTP user's code is no password, and the password method does not take codes
    t = transport(server.port)
    with pytest.raises(paramiko.AuthenticationException):
        t.auth_password("hotp", otp(HOTP_SECRET, 2, 6, hashlib.sha1))
    t.close()


def test_totp_code(server):
    t = transport(server.port)
    stale = otp(TOTP_SECRET, int(time.time()) // 30 - 4, 8, hashlib.sha256)
    with pytest.raises(paramiko.AuthenticationException):
        t.auth_interactive("totp", answers(stale))
    with pytest.raises(paramiko.AuthenticationException):  # SHA-1 is not this user's hash
        t.auth_interactive("totp", answers(otp(TOTP_SECRET, int(time.time()) // 30, 8, hashlib.sha1)))
    step = int(time.time()) // 30
    code = otp(TOTP_SECRET, step, 8, hashlib.sha256)
    t.auth_interactive("totp", answers(code))
    assert t.is_authenticated()
    open_sftp(t).listdir(".")
    t.close()
    # the same code again, on another connection within its window: refused (once per step), and
    # so is the previous step's code, which the window would otherwise still take
    t = transport(server.port)
    with pytest.raises(paramiko.AuthenticationException):
        t.auth_interactive("totp", answers(code))
    with pytest.raises(paramiko.AuthenticationException):
        t.auth_interactive("totp", answers(otp(TOTP_SECRET, step - 1, 8, hashlib.sha256)))
    # the next step's code (the window takes one step ahead) still works, once
    t.auth_interactive("totp", answers(otp(TOTP_SECRET, step + 1, 8, hashlib.sha256)))
    assert t.is_authenticated()
    t.close()


# ---- which methods, all-of, vetoes and verdicts ----------------------------------------------------

def test_auth_types_decide_the_offered_methods(make_server, keys):
    server = make_server(*users(keys), "--auth-types", AT_PUBLICKEY)
    t = transport(server.port)
    with pytest.raises(paramiko.BadAuthenticationType) as err:
        t.auth_password("bob", "builder")
    assert err.value.allowed_types == ["publickey"]
    with pytest.raises(paramiko.BadAuthenticationType):
        t.auth_interactive("bob", answers("builder"))
    t.auth_publickey("alice", keys.paramiko("ed25519"))
    assert t.is_authenticated()
    t.close()


def test_auth_mode_all_of_needs_publickey_and_password(make_server, keys):
    server = make_server(*users(keys), "--auth-types", AT_PUBLICKEY | AT_PASSWORD, "--config", "AuthMode=1")
    # password first: partial success, publickey still wanted
    t = transport(server.port)
    assert t.auth_password("alice", "wonderland") == ["publickey"]
    assert not t.is_authenticated()
    assert not server.find("on_auth_succeeded")
    t.auth_publickey("alice", keys.paramiko("ed25519"))
    assert t.is_authenticated()
    open_sftp(t).listdir(".")
    t.close()
    cid = last_connection_id(server)
    server.wait_event("on_disconnect", connection_id=cid)
    succeeded = server.find("on_auth_succeeded", connection_id=cid)
    assert len(succeeded) == 1 and succeeded[0]["username"] == "alice"
    # publickey first, then a wrong password: not in
    t = transport(server.port)
    assert t.auth_publickey("alice", keys.paramiko("rsa")) == ["password"]
    with pytest.raises(paramiko.AuthenticationException):
        t.auth_password("alice", "wrong")
    assert not t.is_authenticated()
    t.close()
    # one method alone never opens a session (OpenSSH with only a key)
    r = openssh_sftp(server.port, "alice", keys.path("ed25519"))
    assert r.returncode != 0
    # the second method must be passed by the same user
    t = transport(server.port)
    assert t.auth_publickey("alice", keys.paramiko("ed25519")) == ["password"]
    result = None
    try:
        result = t.auth_password("bob", "builder")
    except paramiko.AuthenticationException:
        pass
    assert not t.is_authenticated(), result
    t.close()


def test_on_auth_attempt_veto_refuses_the_right_password(make_server, keys):
    server = make_server(*users(keys), "--veto-auth", "alice")
    t = transport(server.port)
    with pytest.raises(paramiko.AuthenticationException):
        t.auth_password("alice", "wonderland")
    with pytest.raises(paramiko.AuthenticationException):
        t.auth_publickey("alice", keys.paramiko("ed25519"))
    t.close()
    server.wait_event("on_auth_failed", count=2, username="alice")
    vetoed = server.find("on_auth_attempt", username="alice")
    assert len(vetoed) == 2 and all(e["accept"] == 0 for e in vetoed)
    assert not server.find("on_auth_password")  # vetoed before the check
    login(server.port, "bob", password="builder")[0].close()


def test_handlers_overrule_the_library_either_way(make_server, keys):
    server = make_server(*users(keys), "--password-verdict", "bob=1", "--password-verdict", "alice=0",
                         "--pubkey-verdict", "carol=1")
    t, _ = login(server.port, "bob", password="not-his-password")  # accepted by the handler
    t.close()
    t = transport(server.port)
    with pytest.raises(paramiko.AuthenticationException):
        t.auth_password("alice", "wonderland")  # refused by the handler
    t.close()
    # carol is no user at all, yet the handler takes her (validly signed) key
    t, sftp = login(server.port, "carol", pkey=keys.paramiko("stranger"))
    t.close()
    ev = server.wait_event("on_auth_public_key", username="carol")
    assert ev["accept"] == 1 and ev["key_fingerprint_sha256"] == keys.fingerprint("stranger")


def test_failed_attempt_limit_closes_the_connection(server):
    t = transport(server.port)
    cid = last_connection_id(server)
    started = time.monotonic()
    tries = 0
    while t.is_active() and tries < 10:
        tries += 1
        # paramiko reports the server's hang-up as a failed attempt too, or as EOF when it races
        with pytest.raises((paramiko.AuthenticationException, paramiko.SSHException, EOFError, OSError)):
            t.auth_password("bob", "guess")
    assert not t.is_active() and tries in (6, 7)
    server.wait_event("on_disconnect", connection_id=cid)
    err = server.wait_event("on_error")
    assert "too many failed authentication attempts" in err["description"]
    assert err["error_code"] == 1048642  # SFTPKIT_ERROR_AUTHENTICATION_FAILED
    assert len(server.find("on_auth_failed", connection_id=cid)) == 6
    # the delay grows: 0.2 + 0.4 + 0.6 + 0.8 + 1.0 s before the sixth failure closes it
    assert time.monotonic() - started >= 2.8
    t.close()


def test_user_base_path_is_the_session_root(make_server, keys, tmp_path):
    home = tmp_path / "alice-home"
    home.mkdir()
    (home / "mine.txt").write_text("alice")
    server = make_server(*users(keys), "--user-base", f"alice:{home}")
    open(os.path.join(server.root, "shared.txt"), "w").write("all")
    t, sftp = login(server.port, "alice", password="wonderland")
    assert sftp.listdir("/") == ["mine.txt"]
    t.close()
    t, sftp = login(server.port, "bob", password="builder")
    assert "shared.txt" in sftp.listdir("/")
    t.close()


def ssh_cmd(port, key, *rest):
    return ["ssh", "-p", str(port), "-F", "/dev/null", "-i", key, "-o", "StrictHostKeyChecking=no",
            "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
            "-o", "LogLevel=ERROR", *rest]


def test_openssh_ssh_gets_the_sftp_subsystem_and_nothing_else(server, keys):
    import subprocess
    # `ssh -s host sftp` is the subsystem itself: an SSH_FXP_INIT gets a VERSION back
    init = b"\x00\x00\x00\x05\x01\x00\x00\x00\x03"
    r = subprocess.run(ssh_cmd(server.port, keys.path("ed25519"), "-s", "alice@127.0.0.1", "sftp"),
                       input=init, capture_output=True, timeout=30)
    assert r.stdout[4:5] == b"\x02", (r.stdout, r.stderr)  # SSH_FXP_VERSION
    # a command, a shell or another subsystem is refused, and the login ends at once
    for rest in (["alice@127.0.0.1", "true"], ["-s", "alice@127.0.0.1", "netconf"]):
        started = time.monotonic()
        r = subprocess.run(ssh_cmd(server.port, keys.path("ed25519"), *rest), capture_output=True, text=True,
                           timeout=30, stdin=subprocess.DEVNULL)
        assert r.returncode != 0
        assert "request failed" in r.stderr, r.stderr
        assert time.monotonic() - started < 5
    assert len(server.find("on_session_established")) == 1
