"""Misuses the stub must reject (tests/python/test_stub_types.py expects an error on exactly the
lines marked "error"). Never run: only type-checked."""
from sftpkit import SFTPServer, SFTPServerOpenFileEventParams
srv = SFTPServer()
srv.port = "2222"  # error: str for an int property
srv.set_client_buffer(1, "h", "text")  # error: str is not a buffer
def on_open(p: SFTPServerOpenFileEventParams) -> None:
    p.path = "/x"  # error: a by-value parameter is read-only
srv.on_open_file = lambda p: p.nope  # error: no such parameter
srv.get_client_buffer_into(1, "h", b"ro")  # error: bytes are not writable
srv.event_loop = "loop"  # error: not an event loop
year: int = srv.client_file_entry_m_time.year  # error: may be None
