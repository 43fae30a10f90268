"""Issue 15 items beyond the provider: the native log in Python logging, typed values (enums for
parameters and properties, datetimes for times), the .pyi stubs, SFTPError from any handler, and
the zero-copy buffer calls (get_client_buffer_into, set_client_buffer with a memoryview)."""
import datetime
import logging
import os

import paramiko
import pytest

import sftpkit
from sftpkit import (AuthType, ErrorCode, FileOpenMode, FileType, OperationStatus, SFTPError, SFTPKitError)

from conftest import host_keyed_server

logging.getLogger("paramiko").setLevel(logging.CRITICAL)


def make_server():
    srv = host_keyed_server()
    srv.on_auth_password = lambda p: setattr(p, "accept", p.password == "pw")
    return srv


def connect(srv):
    t = paramiko.Transport(("127.0.0.1", srv.port))
    t.banner_timeout = t.auth_timeout = 30
    t.connect(username="u", password="pw")
    return t, paramiko.SFTPClient.from_transport(t)


# ---- logging ------------------------------------------------------------------------------------

def test_native_log_goes_to_the_sftpkit_logger_with_levels(caplog):
    with caplog.at_level(logging.INFO, logger="sftpkit"):
        with make_server() as srv:
            srv.start()
            assert srv.config("LogLevel") == "info"  # derived from the logger at start()
            port = srv.port
    lines = [(r.name, r.levelno, r.getMessage()) for r in caplog.records]
    assert ("sftpkit.server", logging.INFO, "listening on port %d" % port) in lines
    assert ("sftpkit.server", logging.INFO, "stopped") in lines


def test_explicit_log_level_is_kept_and_logging_can_be_turned_off(caplog, capfd):
    with caplog.at_level(logging.DEBUG, logger="sftpkit"):
        with make_server() as srv:
            srv.config("LogLevel=warning")
            srv.start()
            assert srv.config("LogLevel") == "warning"
        assert not any("listening" in r.getMessage() for r in caplog.records)  # info: below warning
        caplog.clear()
        with make_server() as srv:
            srv.log_to_python(False)
            srv.config("LogLevel=info")
            srv.start()
        assert not any(r.name.startswith("sftpkit.") for r in caplog.records)
    assert "listening on port" in capfd.readouterr().err  # LogDestination's default: the console


def test_handler_exception_is_logged_on_sftpkit(srv, hooks, caplog):
    def boom(p):
        raise ValueError("handler bug")

    srv.on_auth_password = boom
    with caplog.at_level(logging.ERROR, logger="sftpkit"):
        ran, out = hooks.fire(srv, "on_auth_password", username="u", password="p", accept=1)
    assert ran == 1 and out["accept"] is False  # fails closed
    rec = [r for r in caplog.records if r.name == "sftpkit"]
    assert rec and rec[0].exc_info and isinstance(rec[0].exc_info[1], ValueError)


# ---- types --------------------------------------------------------------------------------------

def test_event_parameters_are_enums(srv, hooks):
    seen = {}

    def on_open(p):
        seen["modes"], seen["status"] = p.modes, p.operation_status

    srv.on_open_file = on_open
    hooks.fire(srv, "on_open_file", path="/f", modes=26, operation_status=1)
    assert isinstance(seen["modes"], FileOpenMode)
    assert seen["modes"] == FileOpenMode.WRITE | FileOpenMode.CREATE | FileOpenMode.TRUNCATE
    assert seen["status"] is OperationStatus.OK

    srv.on_after_remove = lambda p: seen.update(after=p.operation_status)
    hooks.fire(srv, "on_after_remove", path="/f", operation_status=0)
    assert seen["after"] == 0 and type(seen["after"]) is int  # "failed some other way": no member


def test_properties_are_enums_and_times_are_datetimes(srv):
    assert srv.client_file_entry_file_type is FileType.UNKNOWN
    assert isinstance(srv.auth_types, AuthType)
    utc = datetime.timezone.utc
    assert srv.client_file_entry_m_time is None  # not set
    srv.client_file_entry_m_time = datetime.datetime(2020, 1, 2, 3, 4, 5)  # naive: UTC
    assert srv.client_file_entry_m_time == datetime.datetime(2020, 1, 2, 3, 4, 5, tzinfo=utc)
    assert srv.get_client_file_entry_m_time().tzinfo is utc
    cet = datetime.timezone(datetime.timedelta(hours=1))
    srv.client_file_entry_a_time = datetime.datetime(2020, 1, 2, 4, 4, 5, tzinfo=cet)
    assert srv.client_file_entry_a_time == datetime.datetime(2020, 1, 2, 3, 4, 5, tzinfo=utc)
    assert sftpkit.parse_time(srv.client_file_entry_a_time) == srv.client_file_entry_a_time  # passes through
    srv.client_file_entry_m_time = 0
    assert srv.client_file_entry_m_time == datetime.datetime(1970, 1, 1, tzinfo=utc)
    srv.set_client_file_entry_c_time("2024-01-02T03:04:05Z")  # the library's text still works
    assert srv.client_file_entry_c_time == datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=utc)
    srv.client_file_entry_c_time = ""
    assert srv.client_file_entry_c_time is None
    with pytest.raises(TypeError):
        srv.client_file_entry_m_time = [2020]


def test_stub_declares_buffers_enums_and_providers():
    stub = os.path.join(os.path.dirname(sftpkit.__file__), "__init__.pyi")
    text = open(stub, encoding="utf-8").read()
    assert "ReadableBuffer = Union[bytes, bytearray, memoryview]" in text
    assert "def set_client_buffer(self, connection_id: int, handle: str, value: ReadableBuffer) -> None:" in text
    assert "def get_client_buffer_into(self, connection_id: int, handle: str, buffer: Optional[WritableBuffer]) -> int:" in text
    assert "def modes(self) -> FileOpenMode: ..." in text
    assert "def operation_status(self) -> OperationStatus: ..." in text
    assert "def get_client_file_entry_file_type(self) -> FileType:" in text
    assert "def set_client_file_entry_m_time(self, value: Union[str, datetime.datetime]) -> None: ..." in text
    assert "def get_client_file_entry_m_time(self) -> Optional[datetime.datetime]:" in text
    assert "def set_provider(self, factory: Optional[Callable[[Session], FileSystem]]) -> None:" in text
    assert "FileSystem as FileSystem" in text and "SFTPError as SFTPError" in text


# ---- SFTPError from any handler, and the zero-copy buffer calls over a real connection -----------

def test_plain_handlers_with_sftp_error_and_memoryview_buffers():
    files = {"/r.bin": bytearray(os.urandom(100000))}
    state = {"small_buffer_error": None, "size_only": []}
    big = bytearray(sftpkit.provider.MAX_WRITE)

    def before(p):
        if p.path.endswith(".no"):
            raise SFTPError(OperationStatus.ACCESS_DENIED, "refused by policy: %s" % p.path)
        p.action = sftpkit.fraCustom

    def on_open(p):
        files.setdefault(p.path, bytearray())
        p.handle = "h:" + p.path

    def on_read(p):
        data = files[p.handle[2:]]
        chunk = memoryview(data)[p.offset:p.offset + p.size]
        if not chunk:
            p.operation_status = OperationStatus.EOF
            return
        srv.set_client_buffer(p.connection_id, p.handle, chunk)

    def on_write(p):
        n = srv.get_client_buffer_into(p.connection_id, p.handle, None)  # the size only
        state["size_only"].append(n)
        if state["small_buffer_error"] is None and n > 1:
            try:
                srv.get_client_buffer_into(p.connection_id, p.handle, bytearray(n - 1))
            except SFTPKitError as e:
                state["small_buffer_error"] = e.code
        got = srv.get_client_buffer_into(p.connection_id, p.handle, memoryview(big))
        assert got == n
        data = files[p.handle[2:]]
        data[p.offset:p.offset + n] = memoryview(big)[:n]

    with make_server() as srv:
        for name in ("on_before_download_file", "on_before_upload_file"):
            setattr(srv, name, before)
        srv.on_open_file = on_open
        srv.on_read_file = on_read
        srv.on_write_file = on_write
        srv.on_close_file = lambda p: None
        srv.start()
        t, c = connect(srv)
        with c.open("/r.bin", "rb") as f:
            assert f.read() == bytes(files["/r.bin"])
        payload = os.urandom(200000)
        with c.open("/w.bin", "wb") as f:
            f.write(payload)
        assert bytes(files["/w.bin"]) == payload
        with pytest.raises(PermissionError) as e:
            c.open("/x.no", "rb")
        assert "refused by policy: /x.no" in str(e.value)
        t.close()
    assert state["small_buffer_error"] == ErrorCode.INVALID_PARAMETER
    assert sum(state["size_only"]) == len(payload)


def test_get_client_buffer_into_outside_a_write_is_invalid_state(srv):
    with pytest.raises(SFTPKitError) as e:
        srv.get_client_buffer_into(1, "", bytearray(10))
    assert e.value.code in (ErrorCode.INVALID_STATE, ErrorCode.INVALID_PARAMETER)
    with pytest.raises(BufferError):
        srv.get_client_buffer_into(1, "", b"read-only bytes")  # must be writable


def test_stub_is_valid_python_and_declares_every_public_name():
    import ast
    stub = os.path.join(os.path.dirname(sftpkit.__file__), "__init__.pyi")
    tree = ast.parse(open(stub, encoding="utf-8").read())
    declared = set()
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
            declared.add(node.name)
        elif isinstance(node, ast.AnnAssign):
            declared.add(node.target.id)
        elif isinstance(node, ast.Assign):
            declared.update(t.id for t in node.targets)
        elif isinstance(node, ast.ImportFrom) and node.level == 1:
            declared.update(a.asname or a.name for a in node.names)
    missing = sorted(set(sftpkit.__all__) - declared)
    assert missing == []


def test_error_codes_are_enum_members(srv):
    with pytest.raises(SFTPKitError) as e:
        srv.set_user_password(99, "x")
    assert e.value.code is ErrorCode.INVALID_PARAMETER
