"""The client_file_entry_* fields of a virtual listing (spec "effects": yes) as real clients see
them: each of the nine rwx bits, the directory flag and file type, size, a_time and m_time, the
long name (SFTP v3, paramiko) and the owner name (SFTP v6, asyncssh). The provider layer fills
the fields from FileAttributes; the engine turns them into the NAME reply."""
import asyncio
import datetime
import stat

import asyncssh
import paramiko
import pytest

from sftpkit.provider import FileAttributes, FileSystem

from conftest import keyed_server

UTC = datetime.timezone.utc
MTIME = datetime.datetime(2021, 3, 4, 5, 6, 7, tzinfo=UTC)
ATIME = datetime.datetime(2022, 8, 9, 10, 11, 12, tzinfo=UTC)
# one entry per permission bit, so a bit that lands in the wrong place shows
BITS = [0o400, 0o200, 0o100, 0o040, 0o020, 0o010, 0o004, 0o002, 0o001]


class Listing(FileSystem):
    def stat(self, path):
        return FileAttributes.directory(path.rsplit("/", 1)[-1] or "/")

    def list(self, path):
        for bit in BITS:
            yield FileAttributes.file("bit%03o" % bit, size=bit * 1000 + 7, permissions=bit, mtime=MTIME,
                                      atime=ATIME, owner="owner%03o" % bit, long_name="long name %03o" % bit)
        yield FileAttributes.directory("sub", permissions=0o750, mtime=MTIME, atime=ATIME, owner="dirowner")


@pytest.fixture
def server():
    srv = keyed_server()
    srv.set_provider(lambda session: Listing())
    srv.start()
    yield srv
    srv.close()


def test_v3_listing_carries_every_field(server):
    t = paramiko.Transport(("127.0.0.1", server.port))
    t.connect(username="alice", password="pw")
    try:
        entries = {a.filename: a for a in paramiko.SFTPClient.from_transport(t).listdir_attr("/")}
    finally:
        t.close()
    assert sorted(entries) == sorted(["bit%03o" % b for b in BITS] + ["sub"])
    for bit in BITS:
        a = entries["bit%03o" % bit]
        assert stat.S_ISREG(a.st_mode) and stat.S_IMODE(a.st_mode) == bit, (bit, oct(a.st_mode))
        assert a.st_size == bit * 1000 + 7
        assert a.st_mtime == int(MTIME.timestamp()) and a.st_atime == int(ATIME.timestamp())
        assert a.longname == "long name %03o" % bit
    sub = entries["sub"]
    assert stat.S_ISDIR(sub.st_mode) and stat.S_IMODE(sub.st_mode) == 0o750


def test_v6_listing_carries_the_owner_name(server):
    async def listing():
        async with asyncssh.connect("127.0.0.1", server.port, username="alice", password="pw",
                                    known_hosts=None) as conn:
            async with conn.start_sftp_client(sftp_version=6) as sftp:
                assert sftp.version == 6
                return {n.filename: n.attrs for n in await sftp.readdir("/")}

    attrs = asyncio.run(listing())
    for bit in BITS:
        a = attrs["bit%03o" % bit]
        assert a.owner == "owner%03o" % bit
        assert a.type == asyncssh.FILEXFER_TYPE_REGULAR
        assert a.size == bit * 1000 + 7
        assert a.permissions & 0o777 == bit
        assert int(a.mtime) == int(MTIME.timestamp())
    assert attrs["sub"].owner == "dirowner" and attrs["sub"].type == asyncssh.FILEXFER_TYPE_DIRECTORY
