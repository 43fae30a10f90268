"""sftpkit.MemoryFileSystem: the pages (boundaries, holes, a small file's first page), the quota,
the tree's rules, concurrent writers, and the store shared by concurrent paramiko sessions, in
its plain form and as a subclass with async read/write."""
import asyncio
import hashlib
import os
import threading

import paramiko
import pytest

from sftpkit import FileAttributes, FileOpenMode, MemoryFileSystem, OperationStatus, SFTPError
from sftpkit.memory import ENTRY_COST, PAGE_SIZE

from conftest import host_keyed_server

RW = FileOpenMode.READ | FileOpenMode.WRITE | FileOpenMode.CREATE


def entries(*names):
    """What these entries (files or directories, by name) cost against the quota."""
    return sum(ENTRY_COST + len(n.encode()) for n in names)


def pattern(n, seed=0):
    return bytes((i * 31 + seed + i // 4093) & 0xFF for i in range(n))


def read_all(fs, h, size):
    return bytes(fs.read(h, 0, size))


def test_writes_across_page_boundaries_read_back():
    fs = MemoryFileSystem()
    h = fs.open("/f", RW)
    data = pattern(3 * PAGE_SIZE + 123)
    fs.write(h, PAGE_SIZE - 7, memoryview(data))  # starts 7 bytes before the first boundary
    got = bytes(fs.read(h, PAGE_SIZE - 7, len(data)))
    assert got == data
    assert bytes(fs.read(h, 0, PAGE_SIZE - 7)) == bytes(PAGE_SIZE - 7)  # the hole before it
    assert fs.stat("/f").size == PAGE_SIZE - 7 + len(data)
    # reads that start and end inside pages, and one past the end
    assert bytes(fs.read(h, 2 * PAGE_SIZE + 5, 40)) == data[PAGE_SIZE + 12:PAGE_SIZE + 52]
    assert bytes(fs.read(h, fs.stat("/f").size, 10)) == b""


def test_sparse_write_reads_zeros_and_small_files_stay_small():
    fs = MemoryFileSystem()
    h = fs.open("/s", RW)
    fs.write(h, 5 * PAGE_SIZE + 3, memoryview(b"xyz"))
    assert bytes(fs.read(h, 0, 5 * PAGE_SIZE + 3)) == bytes(5 * PAGE_SIZE + 3)
    assert bytes(fs.read(h, 5 * PAGE_SIZE, 10)) == b"\0\0\0xyz"
    node = h.node
    assert sum(p is not None for p in node.pages) == 1  # the hole holds no memory
    t = fs.open("/tiny", RW)
    fs.write(t, 0, memoryview(b"a"))
    fs.write(t, 100, memoryview(b"b"))  # inside the first page, past its bytes: it grows
    assert len(t.node.pages[0]) < PAGE_SIZE
    assert bytes(fs.read(t, 0, 200)) == b"a" + bytes(99) + b"b"
    assert fs.total_bytes == 5 * PAGE_SIZE + 6 + 101 + entries("s", "tiny")


def test_truncate_then_grow_reads_zeros():
    fs = MemoryFileSystem()
    h = fs.open("/t", RW)
    fs.write(h, 0, memoryview(pattern(2 * PAGE_SIZE)))
    fs.setstat("/t", FileAttributes(size=PAGE_SIZE + 10))
    fs.setstat("/t", FileAttributes(size=2 * PAGE_SIZE))
    got = bytes(fs.read(h, 0, 2 * PAGE_SIZE))
    assert got[:PAGE_SIZE + 10] == pattern(2 * PAGE_SIZE)[:PAGE_SIZE + 10]
    assert got[PAGE_SIZE + 10:] == bytes(PAGE_SIZE - 10)  # the cut-off bytes do not come back
    # truncating on open
    fs.open("/t", FileOpenMode.WRITE | FileOpenMode.TRUNCATE)
    assert fs.stat("/t").size == 0 and fs.total_bytes == entries("t")


def test_quota_refuses_and_changes_nothing():
    fs = MemoryFileSystem(max_total_bytes=100_000 + ENTRY_COST + 5)  # one file named with five letters
    h = fs.open("/qqqqq", RW)
    fs.write(h, 0, memoryview(pattern(100_000)))
    with pytest.raises(SFTPError) as e:
        fs.write(h, 100_000, memoryview(b"!"))
    assert e.value.message == "quota exceeded" and e.value.status == 0
    assert fs.stat("/qqqqq").size == 100_000 and fs.total_bytes == 100_000 + entries("qqqqq")
    with pytest.raises(SFTPError):
        fs.write_all_bytes("/other", b"x")
    with pytest.raises(SFTPError):
        fs.setstat("/qqqqq", FileAttributes(size=100_001))
    fs.write(h, 10, memoryview(b"in place"))  # no growth: no charge
    fs.remove("/qqqqq")
    assert fs.total_bytes == 0
    with pytest.raises(SFTPError) as e:  # the removed file's handle cannot grow memory any more
        fs.write(h, 0, memoryview(b"x"))
    assert e.value.status == OperationStatus.NO_SUCH_FILE
    fs.write_all_bytes("/other", pattern(100_000))


def test_tree_rules():
    fs = MemoryFileSystem()
    fs.write_all_bytes("/a/b/c.txt", b"c")  # parents are made
    assert fs.stat("/a/b").is_dir and fs.read_all_bytes("/a/b/c.txt") == b"c"
    with pytest.raises(SFTPError) as e:
        fs.open("/missing", FileOpenMode.READ)
    assert e.value.status == OperationStatus.NO_SUCH_FILE
    with pytest.raises(SFTPError):
        fs.open("/a/b/c.txt", FileOpenMode.WRITE | FileOpenMode.CREATE | FileOpenMode.EXCL)
    with pytest.raises(SFTPError):
        fs.open("/a", FileOpenMode.READ)  # a directory
    with pytest.raises(SFTPError):
        fs.rmdir("/a")  # not empty
    with pytest.raises(SFTPError) as e:
        fs.rmdir("/")
    assert e.value.status == OperationStatus.ACCESS_DENIED
    with pytest.raises(SFTPError):
        fs.rename("/a", "/a/b/inside")
    fs.rename("/a", "/z")
    assert fs.read_all_bytes("/z/b/c.txt") == b"c" and not fs.exists("/a/b/c.txt")
    assert [x.name for x in fs.list("/")] == ["z"] and [x.name for x in fs.list("/z/b")] == ["c.txt"]
    r = fs.open("/z/b/c.txt", FileOpenMode.READ)
    with pytest.raises(SFTPError) as e:
        fs.write(r, 0, memoryview(b"no"))
    assert e.value.status == OperationStatus.ACCESS_DENIED
    a = fs.open("/z/b/c.txt", FileOpenMode.WRITE | FileOpenMode.APPEND)
    fs.write(a, 0, memoryview(b"++"))  # append ignores the offset
    assert fs.read_all_bytes("/z/b/c.txt") == b"c++"
    with pytest.raises(SFTPError):
        fs.mkdir("/z")
    with pytest.raises(SFTPError):
        fs.mkdir("/nope/x")


def test_concurrent_writers_on_different_files():
    fs = MemoryFileSystem()
    size, chunk = 2 << 20, 32768

    def writer(k):
        h = fs.open("/w%d" % k, RW)
        data = pattern(size, k)
        order = list(range(0, size, chunk))
        order.reverse() if k % 2 else None  # half of them write back to front (holes, then filled)
        for off in order:
            fs.write(h, off, memoryview(data)[off:off + chunk])

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in range(6):
        assert fs.read_all_bytes("/w%d" % k) == pattern(size, k), k
    assert fs.total_bytes == 6 * size + entries(*("w%d" % k for k in range(6)))


@pytest.fixture
def server():
    srv = host_keyed_server()
    srv.config("MaxStartups=0")
    srv.config("PerSourceMaxStartups=0")
    srv.on_auth_password = lambda p: setattr(p, "accept", p.password == "pw")
    yield srv
    srv.close()


def connect(srv, user):
    t = paramiko.Transport(("127.0.0.1", srv.port))
    t.banner_timeout = t.auth_timeout = 30
    t.connect(username=user, password="pw")
    return t, paramiko.SFTPClient.from_transport(t)


class AsyncMemory(MemoryFileSystem):
    """The async form over the same store: read and write are awaited on the binding's loop."""

    async def read(self, handle, offset, size):
        await asyncio.sleep(0)
        return MemoryFileSystem.read(self, handle, offset, size)

    async def write(self, handle, offset, data):
        await asyncio.sleep(0)
        MemoryFileSystem.write(self, handle, offset, data)


@pytest.mark.parametrize("cls", [MemoryFileSystem, AsyncMemory])
def test_one_store_shared_by_concurrent_sessions(server, cls):
    fs = cls()
    server.set_provider(lambda session: fs)
    server.start()
    blobs = {k: os.urandom(3 << 20) for k in range(3)}
    errors = []

    def session(k):
        try:
            t, c = connect(server, "u%d" % k)
            with c.open("/up%d.bin" % k, "wb") as f:
                f.set_pipelined(True)
                f.write(blobs[k])
            t.close()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append((k, exc))

    threads = [threading.Thread(target=session, args=(k,)) for k in blobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    t, c = connect(server, "reader")  # another session reads what the others wrote
    for k, blob in blobs.items():
        with c.open("/up%d.bin" % k, "rb") as f:
            got = f.read()
        assert hashlib.sha256(got).digest() == hashlib.sha256(blob).digest(), k
    assert sorted(c.listdir("/")) == ["up0.bin", "up1.bin", "up2.bin"]
    t.close()
    assert fs.total_bytes == sum(len(b) for b in blobs.values()) + entries(*("up%d.bin" % k for k in blobs))


def test_empty_entries_count_against_the_quota_for_every_session(server):
    # Empty directories and files held no quota: a client's MKDIR loop grew the store without end.
    room = 40 * (ENTRY_COST + 4)  # forty entries named with four letters
    fs = MemoryFileSystem(max_total_bytes=room)
    server.set_provider(lambda session: fs)
    server.start()
    made, errors = [], []

    def fill(k):
        try:
            t, c = connect(server, "u%d" % k)
            for i in range(100):
                try:
                    c.mkdir("/d%d%02d" % (k, i)) if i % 2 else c.open("/f%d%02d" % (k, i), "w").close()
                    made.append(k)
                except IOError as exc:
                    assert "quota exceeded" in str(exc) or "Failure" in str(exc), exc
            t.close()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=fill, args=(k,)) for k in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert not errors
    assert len(made) == 40 and fs.total_bytes == room
    t, c = connect(server, "cleaner")  # removing them gives the room back to everyone
    names = c.listdir("/")
    assert len(names) == 40
    for name in names:
        c.rmdir("/" + name) if name.startswith("d") else c.remove("/" + name)
    assert fs.total_bytes == 0
    c.mkdir("/back")
    c.rename("/back", "/again")  # a rename charges the name's difference only
    assert fs.total_bytes == entries("again")
    t.close()


def test_listing_and_rmdir_use_the_directory_not_the_whole_tree():
    fs = MemoryFileSystem()
    for i in range(3):
        fs.write_all_bytes("/a/b%d/f" % i, b"x")
    fs.rename("/a", "/z")  # the children index moves with the directory
    assert sorted(x.name for x in fs.list("/z")) == ["b0", "b1", "b2"]
    assert [x.name for x in fs.list("/z/b1")] == ["f"]
    with pytest.raises(SFTPError):
        fs.rmdir("/z/b1")  # not empty
    fs.remove("/z/b1/f")
    fs.rmdir("/z/b1")
    assert sorted(x.name for x in fs.list("/z")) == ["b0", "b2"] and [x.name for x in fs.list("/")] == ["z"]
    assert not fs.exists("/a/b0/f") and fs.read_all_bytes("/z/b0/f") == b"x"
