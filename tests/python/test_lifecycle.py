"""Exceptions, the context manager, close(), garbage collection and keys."""
import gc
import weakref

import pytest

import sftpkit
from sftpkit import ErrorCode, SFTPKitError, SFTPServer, SSHKey


def test_error_object():
    e = SFTPKitError(1048577, "bad thing")
    assert e.code == 1048577 and e.message == "bad thing"
    assert "bad thing" in str(e) and "1048577" in str(e)
    assert repr(e) == "SFTPKitError(1048577, 'bad thing')"
    assert isinstance(e, Exception)


def test_context_manager_closes():
    with SFTPServer() as srv:
        srv.port = 2300
        assert srv.active is False
    assert srv.closed  # the with block stops and releases it, as a file object's does
    srv.close()  # idempotent
    assert srv.closed
    with pytest.raises(SFTPKitError) as e:
        srv.port
    assert e.value.code == ErrorCode.INVALID_STATE


def test_context_manager_propagates_exceptions():
    with pytest.raises(KeyError):
        with SFTPServer():
            raise KeyError("inside")


def test_handlers_do_not_keep_the_server_alive():
    srv = SFTPServer()
    srv.on_connect = lambda p: None
    srv.on_auth_password = lambda p: None
    ref = weakref.ref(srv)
    del srv
    gc.collect()
    assert ref() is None


def test_bound_method_handler_is_collected():
    class App:
        def __init__(self):
            self.srv = SFTPServer()
            self.srv.on_accept = self.on_accept

        def on_accept(self, p):
            pass

    app = App()
    ref = weakref.ref(app.srv)
    del app
    gc.collect()
    assert ref() is None


def test_many_servers_created_and_freed():
    for _ in range(300):
        s = SFTPServer()
        s.on_connect = lambda p: None
        s.close()


def test_handler_must_be_callable(srv):
    with pytest.raises(TypeError):
        srv.on_connect = 42
    srv.on_connect = print
    assert srv.on_connect is print
    srv.on_connect = None
    assert srv.on_connect is None
    del srv.on_accept


def test_key_generate_and_install(srv):
    k = SSHKey()
    k.generate("ssh-ed25519")
    assert k.export_public().startswith("ssh-ed25519 AAAA")
    assert k.handle == k.get_handle() > 0
    srv.server_key_count = 1
    srv.set_server_key_handle(0, k.handle)
    k.close()
    assert srv.get_server_key_algorithm(0) == "ssh-ed25519"


def test_key_errors():
    with SSHKey() as k:
        with pytest.raises(SFTPKitError) as e:
            k.generate("no-such-algorithm")
        assert e.value.code == ErrorCode.INVALID_VALUE
        with pytest.raises(SFTPKitError):
            k.import_bytes(b"not a key")
    with pytest.raises(SFTPKitError) as e:
        k.export_public()
    assert e.value.code == ErrorCode.INVALID_STATE


def test_key_import(tmp_path):
    import os
    keys = os.path.join(os.path.dirname(__file__), "..", "conformance", "keys")
    with SSHKey() as k:
        k.import_file(os.path.join(keys, "client_ed25519"))
        line = k.export_public()
    with open(os.path.join(keys, "client_ed25519.pub"), encoding="utf-8") as f:
        assert line.split()[:2] == f.read().split()[:2]
    with SSHKey() as k:
        k.import_file(os.path.join(keys, "client_enc_ed25519"), passphrase="k3y-pass")
    with SSHKey() as k:
        with open(os.path.join(keys, "client_rsa"), "rb") as f:
            k.import_bytes(f.read())
        assert k.export_public().startswith("ssh-rsa ")


def test_module_exports():
    for name in sftpkit.__all__:
        assert hasattr(sftpkit, name), name
