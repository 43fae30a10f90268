"""Properties: defaults, both spellings, indexed lists, types, and errors as SFTPKitError."""
import pytest

from sftpkit import ErrorCode, SFTPKitError, SFTPServer


def test_defaults(srv):
    assert srv.port == 22 and srv.get_port() == 22
    assert srv.active is False
    assert srv.base_dir == ""
    assert srv.auth_types == 30
    assert srv.ssh_settings_software_name.startswith("sftpkit_")
    assert srv.socket_timeout == 60000
    assert srv.user_count == 0


def test_property_and_pair_agree(srv):
    srv.port = 2222
    assert srv.get_port() == 2222
    srv.set_port(2223)
    assert srv.port == 2223
    srv.base_dir = "/srv/files"
    assert srv.get_base_dir() == "/srv/files"
    srv.read_only = 1  # any truthy value
    assert srv.read_only is True


def test_read_only_property(srv):
    with pytest.raises(AttributeError):
        srv.active = True
    assert not hasattr(srv, "set_active")


def test_indexed(srv):
    srv.user_count = 2
    srv.set_user_username(0, "alice")
    srv.set_user_password(1, "pw")
    assert srv.get_user_username(0) == "alice"
    assert srv.get_user_password(1) == "pw"
    assert srv.get_user_password(0) == ""
    with pytest.raises(SFTPKitError) as e:
        srv.get_user_password(2)
    assert e.value.code == ErrorCode.INVALID_PARAMETER
    assert "user_password" in e.value.message
    with pytest.raises(SFTPKitError):
        srv.set_user_password(-1, "x")


def test_bytes(srv):
    srv.user_count = 1
    srv.set_user_associated_data(0, b"\x00\x01\xff")
    assert srv.get_user_associated_data(0) == b"\x00\x01\xff"
    srv.set_user_associated_data(0, bytearray(b"ab"))
    assert srv.get_user_associated_data(0) == b"ab"
    srv.set_user_associated_data(0, memoryview(b"xyz"))
    assert srv.get_user_associated_data(0) == b"xyz"
    srv.set_user_associated_data(0, b"")
    assert srv.get_user_associated_data(0) == b""
    with pytest.raises(TypeError):
        srv.set_user_associated_data(0, "text is not bytes")


def test_utf8_round_trip(srv):
    for text in ("ü✓", "😀 emoji", "a" * 10000):
        srv.base_dir = text
        assert srv.base_dir == text


def test_invalid_values_raise_and_keep(srv):
    srv.port = 2222
    with pytest.raises(SFTPKitError) as e:
        srv.port = 70000
    assert e.value.code == ErrorCode.INVALID_VALUE == 1048580
    assert srv.port == 2222
    with pytest.raises(SFTPKitError):
        srv.ssh_settings_encryption_algorithms = "no-such-cipher"


def test_wrong_python_types(srv):
    with pytest.raises(TypeError):
        srv.port = "22"
    with pytest.raises(TypeError):
        srv.port = 22.5
    with pytest.raises(TypeError):
        srv.base_dir = 5
    with pytest.raises(OverflowError):
        srv.port = 2 ** 70


def test_nul_in_string(srv):
    with pytest.raises(ValueError):
        srv.base_dir = "a\0b"
    assert srv.base_dir == ""


def test_none_string_is_invalid_parameter(srv):
    with pytest.raises(SFTPKitError) as e:
        srv.base_dir = None
    assert e.value.code == ErrorCode.INVALID_PARAMETER


def test_int64_range(srv):
    srv.socket_incoming_speed_limit = 2 ** 63 - 1
    assert srv.socket_incoming_speed_limit == 2 ** 63 - 1


def test_config_and_do_action(srv):
    assert srv.config("AuthMode") == "0"
    srv.config("AuthMode=1")
    assert srv.config("AuthMode") == "1"
    with pytest.raises(SFTPKitError) as e:
        srv.config("NoSuchSetting")
    assert e.value.code == ErrorCode.INVALID_PARAMETER
    with pytest.raises(SFTPKitError):
        srv.do_action("no-such-action", "")


def test_methods_on_unknown_connection(srv):
    assert srv.list_clients() == ""
    for call in (lambda: srv.drop_client(99, True), lambda: srv.pin_client(99),
                 lambda: srv.get_client_buffer(99, "h"), lambda: srv.set_client_buffer(99, "h", b"x"),
                 lambda: srv.get_client_file_entry(99, "h"), lambda: srv.set_client_file_entry(99, "h")):
        with pytest.raises(SFTPKitError) as e:
            call()
        assert e.value.code == ErrorCode.INVALID_PARAMETER


def test_servers_are_independent():
    a, b = SFTPServer(), SFTPServer()
    try:
        a.port = 1000
        assert b.port == 22
    finally:
        a.close()
        b.close()
