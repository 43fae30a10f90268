"""sftpkit: an embeddable SFTP server, Python binding.

    from sftpkit import SFTPServer, SSHKey, SFTPKitError

    key = SSHKey(); key.generate("ssh-ed25519")
    with SFTPServer() as srv:
        srv.server_key_count = 1
        srv.set_server_key_handle(0, key.handle)
        srv.base_dir = "/srv/files"
        srv.port = 2222
        srv.on_auth_password = lambda p: setattr(p, "accept", p.password == "s3cret")
        srv.start()
        ...

The API is the SFTPServer reference document's Python syntax, name for name: properties
(`srv.base_dir`, `get_base_dir()`/`set_base_dir(v)`, indexed `get_user_password(i)`), methods,
and events assigned as callables that receive a params object (`params.accept = True`).

A virtual file system is a FileSystem subclass installed with `srv.set_provider(factory)`
(sftpkit.provider); FsspecFileSystem serves any fsspec file system, MemoryFileSystem keeps files in
memory (thread-safe, with a byte quota). Handlers and FileSystem
methods may be `async def`: they run on `srv.event_loop` (or the binding's own loop), and a
client that goes away cancels them. The native log goes to the
"sftpkit" logger.
"""
from ._runtime import (REQUEST_CANCEL_DISCONNECT, REQUEST_CANCEL_DROPPED, REQUEST_CANCEL_STOPPING, PendingRequest,
                       ReadableBuffer, SFTPKitError, SSHKey, parse_time, version)
from ._generated import *  # noqa: F401,F403 - SFTPServer, the params classes, the value sets
from ._generated import __all__ as _generated_all
from .provider import FileAttributes, FileSystem, SFTPError, Session
from .fsspec_fs import FsspecFileSystem
from .memory import MemoryFileSystem

__version__ = version()
__all__ = ["SFTPKitError", "SSHKey", "version", "parse_time", "ReadableBuffer", "FileAttributes", "FileSystem",
           "SFTPError", "Session", "FsspecFileSystem", "MemoryFileSystem", "PendingRequest", "REQUEST_CANCEL_DISCONNECT",
           "REQUEST_CANCEL_DROPPED", "REQUEST_CANCEL_STOPPING"] + list(_generated_all)
