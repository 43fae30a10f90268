"""MemoryFileSystem: a thread-safe file system in memory, the same store the Java and C# bindings
ship (and the C sample sftpkit-memfs serves): for tests, demos, caches and as a starting point.

    fs = MemoryFileSystem(max_total_bytes=256 << 20)
    fs.write_all_bytes("/hello.txt", b"hi")
    srv.set_provider(lambda session: fs)          # one store shared by every session

File data lives in 64 KiB pages allocated as they are first written: a growing file never copies
what it holds, and a sparse write leaves a hole that reads as zeros and takes no memory. (A file's
first page starts small and grows to 64 KiB, so a one-byte file does not hold 64 KiB: the quota
counts file lengths, and tiny files must not multiply the memory a client can take.) Files opened
for writing are visible to readers as they are written. One lock per file: requests on different
files run in parallel.

The total size of all files is capped (max_total_bytes, 1 GiB by default): a write or a size
change past it fails with a plain failure whose message is "quota exceeded" and changes nothing;
removing or truncating files gives their bytes back. Holes count at their length. Every file and
directory also counts ENTRY_COST (512) bytes plus the UTF-8 length of its name, so a client cannot
grow the store without end with empty files or directories (as in the Java and C# stores);
creating an entry past the cap fails the same way, and removing it gives the bytes back. Freed pages (up to
the smaller of the cap and 128 MiB) are kept for the next writes: touching fresh memory again
costs more than the copy.

Errors: a missing path is NO_SUCH_FILE; a path that exists where it must not (mkdir, rename's
target, an exclusive create), a directory where a file is needed or the reverse, and a non-empty
directory are failures with a message; the root cannot be removed or renamed (ACCESS_DENIED);
writing a file opened for reading only is ACCESS_DENIED. Links are not supported. The end of a
session keeps the files.
"""
import datetime
import posixpath
import threading
from typing import Iterable, List, Optional

from .provider import FileAttributes, FileSystem, SFTPError, _ACCESS_DENIED, _FAILURE, _NO_SUCH_FILE

PAGE_SIZE = 64 * 1024
ENTRY_COST = 512  # what one file or directory counts against the quota, besides its name
_ZEROS = bytes(PAGE_SIZE)
DEFAULT_MAX_TOTAL_BYTES = 1 << 30

# FileOpenMode bits (the reference document's values; the generated enum imports this package)
_CFM_WRITE, _CFM_APPEND, _CFM_CREATE, _CFM_TRUNCATE, _CFM_EXCL, _CFM_OPEN_OR_CREATE = 2, 4, 8, 16, 32, 128


def _now():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def _norm(path: str) -> str:
    p = posixpath.normpath("/" + (path or ""))
    return "/" if p in ("/", "//") else p.rstrip("/").replace("//", "/")


def _parent(p: str) -> str:
    return posixpath.dirname(p) or "/"


def _entry_cost(p: str) -> int:
    return ENTRY_COST + len(posixpath.basename(p).encode("utf-8", "surrogateescape"))


class _Node:
    __slots__ = ("is_dir", "pages", "length", "mode", "mtime", "atime", "lock", "removed")

    def __init__(self, is_dir: bool):
        self.is_dir = is_dir
        self.pages: List[Optional[bytearray]] = []  # None: a hole (reads as zeros)
        self.length = 0
        self.mode = 0o755 if is_dir else 0o644
        self.mtime = self.atime = _now()
        self.lock = threading.Lock()
        self.removed = False  # its data was dropped: handles still open can no longer write

    def attributes(self, name: str) -> FileAttributes:
        return FileAttributes(name=name, is_dir=self.is_dir, size=0 if self.is_dir else self.length,
                              permissions=self.mode, mtime=self.mtime, atime=self.atime)

    # ---- data (the node's lock held) ----------------------------------------------------------

    def read(self, offset: int, size: int) -> bytes:
        end = min(self.length, offset + size)
        if offset >= end:
            return b""
        parts = []
        while offset < end:
            i, at = divmod(offset, PAGE_SIZE)
            n = min(PAGE_SIZE - at, end - offset)
            page = self.pages[i] if i < len(self.pages) else None
            if page is None or len(page) < at + n:  # a hole, or past a short first page's bytes
                have = page[at:at + n] if page is not None and at < len(page) else b""
                parts.append(bytes(have) + bytes(n - len(have)))
            else:
                parts.append(memoryview(page)[at:at + n])
            offset += n
        return parts[0] if len(parts) == 1 else b"".join(parts)  # one page: a view, no copy

    def write(self, offset: int, data, spare: "_Spare") -> None:
        src = memoryview(data).cast("B")
        pos, end = 0, len(src)
        while pos < end:
            i, at = divmod(offset + pos, PAGE_SIZE)
            n = min(PAGE_SIZE - at, end - pos)
            if i >= len(self.pages):
                self.pages.extend([None] * (i + 1 - len(self.pages)))
            page = self.pages[i]
            if page is None:
                # the first page of a file starts at what it needs (doubling), the others whole
                page = spare.take() if i else bytearray(max(64, _pow2(at + n)))
                self.pages[i] = page
            elif len(page) < at + n:  # a short first page grows: a new one, so no view sees a resize
                grown = bytearray(min(PAGE_SIZE, _pow2(at + n)))
                grown[:len(page)] = page
                page = self.pages[i] = grown
            page[at:at + n] = src[pos:pos + n]
            pos += n
        self.length = max(self.length, offset + end)

    def truncate(self, length: int, spare: "_Spare") -> None:
        if length < self.length:
            keep = (length + PAGE_SIZE - 1) // PAGE_SIZE
            spare.give(self.pages[keep:])
            del self.pages[keep:]
            at = length % PAGE_SIZE
            if at and self.pages and self.pages[-1] is not None:  # what is cut off reads as zeros again
                page = self.pages[-1]
                page[at:] = bytes(len(page) - at)
        self.length = length


class _Spare:
    """Whole pages freed by truncation and removal, kept (up to max) for the next writes: pages
    freed to the allocator went back to the kernel, and on this VM the page faults of touching
    fresh memory again cost more than the upload itself (measured: a second 128 MiB upload into a
    truncated file took 56 clock ticks of server CPU with fresh pages, 45-48 with half of them
    pooled)."""
    def __init__(self, max_total_bytes: int):
        self.max = min(max_total_bytes, 128 << 20) // PAGE_SIZE  # as the Java and C# stores
        self._lock = threading.Lock()
        self._pages: List[bytearray] = []

    def take(self) -> bytearray:
        with self._lock:
            page = self._pages.pop() if self._pages else None
        if page is None:
            return bytearray(PAGE_SIZE)
        page[:] = _ZEROS  # reads of what is not written must see zeros
        return page

    def give(self, pages) -> None:
        whole = [p for p in pages if p is not None and len(p) == PAGE_SIZE]
        with self._lock:
            self._pages.extend(whole[:max(0, self.max - len(self._pages))])


def _pow2(n: int) -> int:
    return 1 << max(0, n - 1).bit_length()


class _OpenFile:
    __slots__ = ("node", "writable", "append")

    def __init__(self, node: _Node, writable: bool, append: bool):
        self.node, self.writable, self.append = node, writable, append


class MemoryFileSystem(FileSystem):
    """See the module's documentation. One instance may serve every session (it keeps no
    per-session state); make one per user in the provider factory for separate trees."""

    def __init__(self, max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES):
        if max_total_bytes < 0:
            raise ValueError("max_total_bytes must be >= 0")
        self.max_total_bytes = max_total_bytes
        self._lock = threading.Lock()  # the tree and the byte counts
        self._nodes = {"/": _Node(True)}
        self._children = {"/": set()}  # directory -> its entries' names: listings need not scan the tree
        self._total = 0
        self._entry_bytes = 0
        self._spare = _Spare(max_total_bytes)

    @property
    def total_bytes(self) -> int:
        """What counts against max_total_bytes now: the file lengths (holes included) and every
        entry's cost (as the Java and C# stores' totalBytes / TotalBytes)."""
        return self._total + self._entry_bytes

    # ---- convenience for the application ------------------------------------------------------

    def write_all_bytes(self, path: str, data) -> None:
        """Creates or replaces a file (parent directories are created). A quota failure keeps
        the old content."""
        p = _norm(path)
        fresh = _Node(False)
        fresh.write(0, data, self._spare)
        with self._lock:  # (lock order everywhere: a file's lock, then the tree's)
            self._create_directories(_parent(p))
            old = self._nodes.get(p)
            if old is not None and old.is_dir:
                raise SFTPError(_FAILURE, "is a directory: " + p)
            if old is None:
                self._charge(fresh.length)
                try:
                    self._add(p, fresh)
                except SFTPError:
                    self._total -= fresh.length
                    raise
                return
        with old.lock:  # in place, so open handles see the new content
            if old.removed:
                raise SFTPError(_NO_SUCH_FILE, "removed meanwhile: " + p)
            with self._lock:
                self._charge(fresh.length - old.length)
            self._spare.give(old.pages)
            old.pages, old.length, old.mtime = fresh.pages, fresh.length, _now()

    def read_all_bytes(self, path: str) -> bytes:
        n = self._node(_norm(path))
        if n.is_dir:
            raise SFTPError(_FAILURE, "is a directory: " + _norm(path))
        with n.lock:
            return n.read(0, n.length)

    def exists(self, path: str) -> bool:
        with self._lock:
            return _norm(path) in self._nodes

    def create_directories(self, path: str) -> None:
        with self._lock:
            self._create_directories(_norm(path))

    # ---- FileSystem -----------------------------------------------------------------------------

    def open(self, path, flags):
        p = _norm(path)
        writable = bool(flags & (_CFM_WRITE | _CFM_APPEND | _CFM_CREATE | _CFM_TRUNCATE | _CFM_OPEN_OR_CREATE))
        create = bool(flags & (_CFM_CREATE | _CFM_OPEN_OR_CREATE))
        with self._lock:
            n = self._nodes.get(p)
            if n is not None:
                if create and flags & _CFM_EXCL:
                    raise SFTPError(_FAILURE, "file exists: " + p)
                if n.is_dir:
                    raise SFTPError(_FAILURE, "is a directory: " + p)
            else:
                if not create:
                    raise SFTPError(_NO_SUCH_FILE, "no such file: " + p)
                self._need_directory(_parent(p))
                n = self._add(p, _Node(False))
        if flags & _CFM_TRUNCATE:
            self._set_length(n, 0)
        return _OpenFile(n, writable, bool(flags & _CFM_APPEND))

    def read(self, handle, offset, size):
        n = handle.node
        with n.lock:
            n.atime = _now()
            return n.read(offset, size)

    def write(self, handle, offset, data):
        if not handle.writable:
            raise SFTPError(_ACCESS_DENIED, "the file is open for reading only")
        n = handle.node
        with n.lock:
            if n.removed:
                raise SFTPError(_NO_SUCH_FILE, "the file was removed")
            at = n.length if handle.append else offset
            grow = max(0, at + len(data) - n.length)
            with self._lock:
                self._charge(grow)
            n.write(at, data, self._spare)
            n.mtime = _now()

    def stat(self, path):
        p = _norm(path)
        return self._node(p).attributes(posixpath.basename(p))

    def setstat(self, path, attrs):
        n = self._node(_norm(path))
        if attrs.size is not None and not n.is_dir:
            self._set_length(n, attrs.size)
        with n.lock:
            if attrs.permissions is not None:
                n.mode = attrs.permissions & 0o7777
            if attrs.mtime is not None:
                n.mtime = attrs.mtime
            if attrs.atime is not None:
                n.atime = attrs.atime

    def list(self, path) -> Iterable[FileAttributes]:
        p = _norm(path)
        with self._lock:  # a snapshot: the listing does not change under the client while it reads
            self._need_directory(p)
            prefix = p.rstrip("/") + "/"
            return [self._nodes[prefix + name].attributes(name) for name in sorted(self._children[p])]

    def mkdir(self, path):
        p = _norm(path)
        with self._lock:
            if p in self._nodes:
                raise SFTPError(_FAILURE, "exists: " + p)
            self._need_directory(_parent(p))
            self._add(p, _Node(True))

    def rmdir(self, path):
        p = _norm(path)
        with self._lock:
            if p == "/":
                raise SFTPError(_ACCESS_DENIED, "the root cannot be removed")
            n = self._existing(p)
            if not n.is_dir:
                raise SFTPError(_FAILURE, "not a directory: " + p)
            if self._children[p]:
                raise SFTPError(_FAILURE, "directory not empty: " + p)
            self._drop(p)

    def remove(self, path):
        p = _norm(path)
        with self._lock:
            n = self._existing(p)
            if n.is_dir:
                raise SFTPError(_FAILURE, "is a directory: " + p)
            self._drop(p)
        with n.lock:  # its bytes back to the quota; handles still open read an empty file
            with self._lock:
                self._total -= n.length
            self._spare.give(n.pages)
            n.pages, n.length, n.removed = [], 0, True

    def rename(self, old_path, new_path):
        f, t = _norm(old_path), _norm(new_path)
        with self._lock:
            if f == "/":
                raise SFTPError(_ACCESS_DENIED, "the root cannot be renamed")
            n = self._existing(f)
            self._need_directory(_parent(t))
            if t in self._nodes:
                raise SFTPError(_FAILURE, "exists: " + t)
            if n.is_dir and t.startswith(f + "/"):
                raise SFTPError(_FAILURE, "a directory cannot move into itself")
            self._charge_entry(_entry_cost(t) - _entry_cost(f))  # its name: the entries below keep theirs
            self._children[_parent(f)].discard(posixpath.basename(f))
            self._children[_parent(t)].add(posixpath.basename(t))
            for q in self._subtree(f):
                self._nodes[t + q[len(f):]] = self._nodes.pop(q)
                if q in self._children:
                    self._children[t + q[len(f):]] = self._children.pop(q)

    # ---- internals (the tree's lock held where named _...) -------------------------------------

    def _node(self, p: str) -> _Node:
        with self._lock:
            return self._existing(p)

    def _existing(self, p: str) -> _Node:
        n = self._nodes.get(p)
        if n is None:
            raise SFTPError(_NO_SUCH_FILE, "no such file: " + p)
        return n

    def _need_directory(self, p: str) -> _Node:
        n = self._existing(p)
        if not n.is_dir:
            raise SFTPError(_FAILURE, "not a directory: " + p)
        return n

    def _create_directories(self, p: str) -> None:
        n = self._nodes.get(p)
        if n is not None:
            if not n.is_dir:
                raise SFTPError(_FAILURE, "not a directory: " + p)
            return
        self._create_directories(_parent(p))
        self._add(p, _Node(True))

    def _add(self, p: str, n: _Node) -> _Node:
        """A new entry at p (its parent exists), charged to the quota."""
        self._charge_entry(_entry_cost(p))
        return self._insert(p, n)

    def _insert(self, p: str, n: _Node) -> _Node:
        self._nodes[p] = n
        self._children[_parent(p)].add(posixpath.basename(p))
        if n.is_dir:
            self._children[p] = set()
        return n

    def _drop(self, p: str) -> None:
        """Takes the entry at p (a file, or an empty directory) out of the tree and the quota."""
        del self._nodes[p]
        self._children.pop(p, None)
        self._children[_parent(p)].discard(posixpath.basename(p))
        self._entry_bytes -= _entry_cost(p)

    def _subtree(self, p: str) -> List[str]:
        """p and every path below it."""
        out, todo = [], [p]
        while todo:
            q = todo.pop()
            out.append(q)
            prefix = q.rstrip("/") + "/"
            todo.extend(prefix + name for name in self._children.get(q, ()))
        return out

    def _charge_entry(self, delta: int) -> None:
        if delta > 0 and self._total + self._entry_bytes + delta > self.max_total_bytes:
            raise SFTPError(_FAILURE, "quota exceeded")
        self._entry_bytes += delta

    def _charge(self, delta: int) -> None:
        if delta > 0 and self._total + self._entry_bytes + delta > self.max_total_bytes:
            raise SFTPError(_FAILURE, "quota exceeded")
        self._total += delta

    def _set_length(self, n: _Node, length: int) -> None:
        if length < 0:
            raise SFTPError(_FAILURE, "negative size")
        with n.lock:
            if n.removed:
                raise SFTPError(_NO_SUCH_FILE, "the file was removed")
            with self._lock:
                self._charge(length - n.length)
            n.truncate(length, self._spare)
