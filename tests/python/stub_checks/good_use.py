"""Typical typed use of the binding: must type-check cleanly against the stub
(tests/python/test_stub_types.py). Never run: only type-checked."""
import datetime
from typing import Iterator
from sftpkit import (FileAttributes, FileOpenMode, FileSystem, OperationStatus, PendingRequest, SFTPError, SFTPServer,
                     SFTPServerOpenFileEventParams, SFTPServerReadFileEventParams, SFTPServerWriteFileEventParams,
                     Session, SSHKey)

class FS(FileSystem):
    def __init__(self, session: Session) -> None:
        self.user: str = session.user
    def list(self, path: str) -> Iterator[FileAttributes]:
        yield FileAttributes.file("a", size=1, mtime=datetime.datetime.now())

srv = SFTPServer()
srv.set_provider(FS)
srv.port = 2222
srv.set_client_file_entry_m_time(datetime.datetime(2020, 1, 1))
k = SSHKey()
srv.set_server_key_handle(0, k.handle)
buf = bytearray(261120)
def on_write(p: SFTPServerWriteFileEventParams) -> None:
    n: int = srv.get_client_buffer_into(p.connection_id, p.handle, buf)
    srv.set_client_buffer(p.connection_id, p.handle, memoryview(buf)[:n])
def on_open(p: SFTPServerOpenFileEventParams) -> None:
    if p.modes & FileOpenMode.WRITE:
        p.operation_status = OperationStatus.ACCESS_DENIED
        p.set_status_message("no")
    status: OperationStatus = p.operation_status
srv.on_write_file = on_write
srv.on_open_file = on_open
raise SFTPError(OperationStatus.NO_SUCH_FILE, "x")
async def on_read_async(p: SFTPServerReadFileEventParams) -> None:
    srv.set_client_buffer(p.connection_id, p.handle, b"data")
srv.on_read_file = on_read_async
srv.event_loop = None
req: PendingRequest = srv.defer_request(1, "h")
req.complete(OperationStatus.OK, b"")
when: datetime.datetime | None = srv.client_file_entry_m_time
