"""Forced password change over keyboard-interactive, with real clients (paramiko, asyncssh): the
handler's ForceChangePassword or ssh_settings_request_password_change turns a right password into
a second prompt round ("New password:", "Retype new password:"), on_auth_password_change carries
the new password, and user_password then holds it (checked by logging in again). Over the
password method the change cannot be asked for (libssh sends no PASSWD_CHANGEREQ): refused."""
import asyncio
import os
import subprocess

import asyncssh
import paramiko
import pytest

from conftest import last_connection_id, open_sftp, transport

AT_KEYBOARD = 16
CHANGE_PROMPTS = ["New password: ", "Retype new password: "]


def rounds(*replies):
    """A paramiko keyboard-interactive handler: one list of answers per prompt round, recording
    each round's prompts and instruction."""
    seen = []

    def handler(title, instructions, prompts):
        seen.append((instructions, [p for p, _ in prompts]))
        return list(replies[len(seen) - 1]) if len(seen) <= len(replies) else []

    handler.rounds = seen
    return handler


def password_works(port, user, password):
    t = transport(port)
    try:
        t.auth_password(user, password)
        return t.is_authenticated()
    except paramiko.AuthenticationException:
        return False
    finally:
        t.close()


@pytest.fixture
def server(make_server):
    return make_server("--user", "carol:old-secret", "--user", "dave:dave-pw", "--force-change", "carol",
                       "--refuse-new-password", "password123")


def test_forced_change_prompts_twice_and_updates_user_password(server):
    t = transport(server.port)
    handler = rounds(["old-secret"], ["new-secret", "new-secret"])
    t.auth_interactive("carol", handler)
    assert t.is_authenticated()
    assert [p for _, p in handler.rounds] == [["Password: "], CHANGE_PROMPTS]
    assert handler.rounds[1][0] == "Password change required"
    open_sftp(t).listdir(".")
    t.close()
    cid = last_connection_id(server)
    change = server.wait_event("on_auth_password_change", connection_id=cid)
    assert change["username"] == "carol" and change["new_password"] == "new-secret" and change["accept"] == 1
    ok = server.wait_event("on_auth_succeeded", connection_id=cid)
    assert ok["auth_type"] == AT_KEYBOARD
    # on_auth_password saw the old password and the handler's demand
    pw = server.find("on_auth_password", connection_id=cid)[0]
    assert pw["password"] == "old-secret" and pw["force_change_password"] == 1
    # user_password now holds the new one: the old is refused at the first round, the new opens
    # the change round again (--force-change still asks carol for a change)
    t = transport(server.port)
    stale = rounds(["old-secret"], ["x-new", "x-new"])
    with pytest.raises(paramiko.AuthenticationException):
        t.auth_interactive("carol", stale)
    assert len(stale.rounds) == 1
    t.close()
    t = transport(server.port)
    again = rounds(["new-secret"], ["newer-secret", "newer-secret"])
    t.auth_interactive("carol", again)  # the new password is the one asked for first now
    assert t.is_authenticated() and len(again.rounds) == 2
    t.close()


@pytest.mark.parametrize("second,why", [
    (["a-new-one", "a-typo"], "differ"),
    (["", ""], "empty"),
    (["old-secret", "old-secret"], "old one"),
    (["password123", "password123"], "refused by on_auth_password_change"),
])
def test_bad_new_password_fails_the_login_and_keeps_the_old(server, second, why):
    t = transport(server.port)
    with pytest.raises(paramiko.AuthenticationException):
        t.auth_interactive("carol", rounds(["old-secret"], second))
    cid = last_connection_id(server)
    failed = server.wait_event("on_auth_failed", connection_id=cid)
    assert failed["auth_type"] == AT_KEYBOARD
    assert not server.find("on_auth_succeeded", connection_id=cid)
    t.close()
    # the old password still opens the change round, and only it
    t = transport(server.port)
    handler = rounds(["old-secret"], ["fine-new", "fine-new"])
    t.auth_interactive("carol", handler)
    assert t.is_authenticated(), why
    t.close()


def test_wrong_old_password_gets_no_change_round(server):
    t = transport(server.port)
    handler = rounds(["not-it"], ["x-new", "x-new"])
    with pytest.raises(paramiko.AuthenticationException):
        t.auth_interactive("carol", handler)
    assert len(handler.rounds) == 1
    assert not server.find("on_auth_password_change")
    t.close()


def test_password_method_refuses_a_forced_change(server):
    assert not password_works(server.port, "carol", "old-secret")
    assert password_works(server.port, "dave", "dave-pw")  # no change asked for dave
    assert not server.find("on_auth_password_change")


def test_request_password_change_property_asks_everyone(make_server):
    srv = make_server("--user", "erin:erin-pw", "--request-password-change")
    t = transport(srv.port)
    handler = rounds(["erin-pw"], ["erin-new", "erin-new"])
    t.auth_interactive("erin", handler)
    assert t.is_authenticated() and [p for _, p in handler.rounds][1] == CHANGE_PROMPTS
    t.close()
    pw = srv.find("on_auth_password")[0]
    assert pw["force_change_password"] == 1  # the handler saw the property's value first


def test_asyncssh_kbdint_client_changes_the_password(server):
    """asyncssh's own keyboard-interactive client code: answers by prompt text."""
    async def run():
        seen = []

        class Client(asyncssh.SSHClient):
            def kbdint_auth_requested(self):
                return ""

            def kbdint_challenge_received(self, name, instructions, lang, prompts):
                seen.append([p for p, _ in prompts])
                return ["old-secret" if p == "Password: " else "via-asyncssh" for p, _ in prompts]

        async with asyncssh.connect("127.0.0.1", server.port, username="carol", known_hosts=None,
                                    client_factory=Client, preferred_auth="keyboard-interactive") as conn:
            async with conn.start_sftp_client() as sftp:
                await sftp.listdir(".")
        return seen

    seen = asyncio.run(asyncio.wait_for(run(), 30))
    assert seen == [["Password: "], CHANGE_PROMPTS]
    change = server.wait_event("on_auth_password_change")
    assert change["new_password"] == "via-asyncssh"


def test_openssh_sftp_changes_the_password(server, tmp_path):
    """OpenSSH's client: the prompts go to SSH_ASKPASS (no terminal here), which answers by the
    prompt text it is given, as a user would type. Commands come on stdin without -b: sftp's
    batch mode turns keyboard-interactive off."""
    askpass = tmp_path / "askpass"
    askpass.write_text('#!/bin/sh\ncase "$1" in\n  *"New password"*|*"Retype new password"*) echo from-openssh ;;\n'
                       '  *) echo old-secret ;;\nesac\necho "$1" >> "$0.log"\n')
    askpass.chmod(0o700)
    env = dict(os.environ, SSH_ASKPASS=str(askpass), SSH_ASKPASS_REQUIRE="force", DISPLAY=":0")
    cmd = ["sftp", "-P", str(server.port), "-F", "/dev/null", "-o", "StrictHostKeyChecking=no",
           "-o", "UserKnownHostsFile=/dev/null", "-o", "PreferredAuthentications=keyboard-interactive",
           "-o", "NumberOfPasswordPrompts=1", "-o", "LogLevel=ERROR", "carol@127.0.0.1"]
    done = subprocess.run(cmd, input="ls\n", capture_output=True, text=True, timeout=30, env=env)
    assert done.returncode == 0, done.stderr
    prompts = (tmp_path / "askpass.log").read_text().splitlines()
    # OpenSSH shows each prompt as "(user@host) prompt"
    assert [p.split(") ", 1)[-1] for p in prompts] == ["Password: ", *CHANGE_PROMPTS], prompts
    assert server.wait_event("on_auth_password_change")["new_password"] == "from-openssh"
