"""Serves any fsspec file system (memory, local, S3, GCS, HTTP, zip...) over SFTP.

    import fsspec
    from sftpkit import FsspecFileSystem
    store = fsspec.filesystem("memory")
    srv.set_provider(lambda session: FsspecFileSystem(store, root="/" + session.user))

fsspec is imported only when this adapter is used (Debian: python3-fsspec). Client paths ("/a/b")
are joined under ``root`` (lexically: the engine has already removed "." and ".." from them).
A local root is better served by the native back-end (base_dir): it confines symbolic links,
which this adapter does not.

Writes are staged: a file opened for writing is kept in a spooled temporary file (memory up to
``spool_bytes``, then disk) so that the random-offset WRITEs SFTP allows work on back-ends whose
files are write-once streams (object stores), and it is stored with one upload when the client
closes it. Readers read the back-end's file directly, sequentially efficient.
"""
import datetime
import os
import threading
import posixpath
import tempfile

from .provider import FileAttributes, FileSystem, SFTPError

_FAILURE, _NO_SUCH_FILE, _UNSUPPORTED = 0, 2, 5
_CFM_WRITE, _CFM_APPEND, _CFM_CREATE, _CFM_TRUNCATE, _CFM_EXCL, _CFM_OPEN_OR_CREATE = 2, 4, 8, 16, 32, 128
_COPY_CHUNK = 1 << 20


class _Reader:
    # the lock: READs of one handle may run at once on the server's worker threads, and an fsspec
    # file (like the spool below) has one position, so seek + read must be one step
    __slots__ = ("f", "lock")

    def __init__(self, f):
        self.f = f
        self.lock = threading.Lock()


class _Writer:
    __slots__ = ("path", "spool", "append", "lock")

    def __init__(self, path, spool, append):
        self.path, self.spool, self.append = path, spool, append
        self.lock = threading.Lock()


def _when(value):
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        return value if value.tzinfo else value.replace(tzinfo=datetime.timezone.utc)
    if isinstance(value, (int, float)):
        return datetime.datetime.fromtimestamp(value, datetime.timezone.utc)
    return None


class FsspecFileSystem(FileSystem):
    """A FileSystem over an ``fsspec.AbstractFileSystem``. Several sessions may share one fsspec
    object (fsspec file systems are meant to be shared); this object itself belongs to one."""

    def __init__(self, fs, root="/", spool_bytes=8 << 20):
        self.fs = fs
        self.root = root if root.endswith("/") else root + "/"
        self.spool_bytes = spool_bytes

    # ---- paths and attributes ---------------------------------------------------------------
    def _p(self, path):
        rel = (path or "/").lstrip("/")
        full = self.root + rel if rel else self.root
        return full.rstrip("/") or "/"

    def _info(self, path):
        try:
            return self.fs.info(self._p(path))
        except FileNotFoundError:
            raise SFTPError(_NO_SUCH_FILE, "no such file: %s" % path) from None

    @staticmethod
    def _attrs(info, name=""):
        is_dir = info.get("type") == "directory"
        mode = info.get("mode")
        return FileAttributes(
            name=name, size=None if is_dir else int(info.get("size") or 0), is_dir=is_dir,
            permissions=(mode & 0o777) if isinstance(mode, int) else None,
            mtime=_when(info.get("mtime", info.get("LastModified", info.get("created")))))

    def stat(self, path):
        return self._attrs(self._info(path), posixpath.basename(path) or "/")

    def list(self, path):
        if not self._info(path).get("type") == "directory":
            raise SFTPError(_FAILURE, "not a directory: %s" % path)
        for info in self.fs.ls(self._p(path), detail=True):
            name = posixpath.basename(info["name"].rstrip("/"))
            if name:
                yield self._attrs(info, name)

    # ---- files ------------------------------------------------------------------------------
    def open(self, path, flags):
        full = self._p(path)
        writing = flags & (_CFM_WRITE | _CFM_APPEND | _CFM_CREATE | _CFM_TRUNCATE | _CFM_OPEN_OR_CREATE)
        exists = self.fs.exists(full)
        if exists and self.fs.isdir(full):
            raise SFTPError(_FAILURE, "is a directory: %s" % path)
        if not writing:
            if not exists:
                raise SFTPError(_NO_SUCH_FILE, "no such file: %s" % path)
            return _Reader(self.fs.open(full, "rb"))
        if exists and flags & _CFM_EXCL:
            raise SFTPError(_FAILURE, "already exists: %s" % path)
        if not exists and not flags & (_CFM_CREATE | _CFM_OPEN_OR_CREATE):
            raise SFTPError(_NO_SUCH_FILE, "no such file: %s" % path)
        parent = posixpath.dirname(full)
        if parent and parent != full and not self.fs.isdir(parent) and parent.rstrip("/") != self.root.rstrip("/"):
            raise SFTPError(_NO_SUCH_FILE, "no such directory: %s" % posixpath.dirname(path))
        spool = tempfile.SpooledTemporaryFile(max_size=self.spool_bytes)
        if exists and not flags & _CFM_TRUNCATE:
            with self.fs.open(full, "rb") as src:  # keep what is there: writes may patch it
                while True:
                    chunk = src.read(_COPY_CHUNK)
                    if not chunk:
                        break
                    spool.write(chunk)
        w = _Writer(full, spool, bool(flags & _CFM_APPEND))
        if not exists or flags & _CFM_TRUNCATE:
            self._store(w)  # the file exists from OPEN on, as on a disk
        return w

    def read(self, handle, offset, size):
        with handle.lock:
            if isinstance(handle, _Writer):
                handle.spool.seek(offset)
                return handle.spool.read(size)
            f = handle.f
            if f.tell() != offset:
                f.seek(offset)
            return f.read(size)

    def write(self, handle, offset, data):
        if not isinstance(handle, _Writer):
            raise SFTPError(_FAILURE, "the file is open for reading only")
        sp = handle.spool
        with handle.lock:
            if handle.append:
                sp.seek(0, os.SEEK_END)
            else:
                end = sp.seek(0, os.SEEK_END)
                if offset > end:  # a hole: zeros, as a disk would read it
                    sp.write(b"\0" * (offset - end))
                sp.seek(offset)
            sp.write(data)  # the spool copies what it needs: data is only valid during this call

    def _store(self, w):
        w.spool.seek(0)
        with self.fs.open(w.path, "wb") as dst:
            while True:
                chunk = w.spool.read(_COPY_CHUNK)
                if not chunk:
                    break
                dst.write(chunk)

    def close(self, handle):
        if isinstance(handle, _Writer):
            try:
                self._store(handle)
            finally:
                handle.spool.close()
        else:
            handle.f.close()

    def setstat(self, path, attrs):
        self._info(path)  # exists?
        if attrs.size is not None:
            raise SFTPError(_UNSUPPORTED, "changing a file's size is not supported here")
        # Times and permissions: fsspec has no general API to set them; they are not kept.

    def fsetstat(self, handle, path, attrs):
        if attrs.size is not None and isinstance(handle, _Writer):
            handle.spool.truncate(attrs.size)
            return
        self.setstat(path, attrs)

    # ---- names ------------------------------------------------------------------------------
    def mkdir(self, path):
        full = self._p(path)
        if self.fs.exists(full):
            raise SFTPError(_FAILURE, "already exists: %s" % path)
        self.fs.mkdir(full, create_parents=False)

    def rmdir(self, path):
        full = self._p(path)
        if self.fs.ls(full, detail=False):
            raise SFTPError(_FAILURE, "directory not empty: %s" % path)
        self.fs.rmdir(full)

    def remove(self, path):
        self.fs.rm_file(self._p(path))

    def rename(self, old_path, new_path):
        old, new = self._p(old_path), self._p(new_path)
        if not self.fs.exists(old):
            raise SFTPError(_NO_SUCH_FILE, "no such file: %s" % old_path)
        if self.fs.exists(new):  # SFTP v3 RENAME never replaces its target
            raise SFTPError(_FAILURE, "already exists: %s" % new_path)
        self.fs.mv(old, new, recursive=self.fs.isdir(old))
