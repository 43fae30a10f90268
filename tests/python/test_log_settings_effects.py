"""The Log* config settings (spec "effects": yes) shown over a real connection: a paramiko login
and listing, then what LogFile holds. LogLevel picks the lines, LogDetails their prefix,
LogFilters the modules, LogDestination whether the file is written at all, and LogFlushMode /
LogMaxEventCount / LogRotationMode when cached lines reach the file and which ones.

The Python logging bridge is turned off (log_to_python(False)): with it, every line also goes to
the file at once, whatever the flush mode says."""
import re
import time

import paramiko
import pytest

from conftest import keyed_server


@pytest.fixture
def make_server(tmp_path):
    made = []

    def make(*settings):
        srv = keyed_server()
        srv.base_dir = str(tmp_path)
        srv.log_to_python(False)
        srv.config("LogFile=%s" % (tmp_path / "server.log"))
        for setting in settings:
            srv.config(setting)
        made.append(srv)
        return srv

    yield make
    for srv in made:
        srv.close()


def one_session(srv):
    t = paramiko.Transport(("127.0.0.1", srv.port))
    t.connect(username="alice", password="pw")
    sftp = paramiko.SFTPClient.from_transport(t)
    sftp.listdir("/")
    t.close()
    time.sleep(0.3)  # the server notices the close and logs it


def log_lines(tmp_path):
    path = tmp_path / "server.log"
    return path.read_text().splitlines() if path.exists() else []


def test_level_and_details_shape_the_lines(make_server, tmp_path):
    srv = make_server("LogLevel=info", "LogDetails=level,module")
    srv.start()
    one_session(srv)
    srv.stop()
    lines = log_lines(tmp_path)
    assert any(re.fullmatch(r"\[info\] sftp: connection \d+: SFTP version 3.*", l) for l in lines), lines
    assert "[info] server: stopped" in lines
    assert not any(l.startswith("[debug]") for l in lines)


def test_a_higher_level_drops_the_info_lines(make_server, tmp_path):
    srv = make_server("LogLevel=error", "LogDetails=level,module")
    srv.start()
    one_session(srv)
    srv.stop()
    assert not any("[info]" in l or "SFTP version" in l for l in log_lines(tmp_path))


def test_time_and_thread_details(make_server, tmp_path):
    srv = make_server("LogLevel=info", "LogDetails=time,threadid")
    srv.start()
    one_session(srv)
    srv.stop()
    lines = log_lines(tmp_path)
    assert lines
    for l in lines:
        assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \(tid \d+\) ", l), l


def test_filters_choose_the_modules(make_server, tmp_path):
    srv = make_server("LogLevel=info", "LogDetails=module", "LogFilters=include-module:sftp")
    srv.start()
    one_session(srv)
    srv.stop()
    lines = log_lines(tmp_path)
    assert lines and all(l.startswith("sftp: ") for l in lines), lines
    srv.config("LogFilters=exclude-module:sftp")
    srv.start()
    one_session(srv)
    srv.stop()
    later = log_lines(tmp_path)[len(lines):]
    assert later and not any(l.startswith("sftp: ") for l in later), later


def test_a_destination_without_file_writes_no_file(make_server, tmp_path):
    srv = make_server("LogLevel=info", "LogDestination=console")
    srv.start()
    one_session(srv)
    srv.stop()
    assert log_lines(tmp_path) == []


def test_cached_lines_keep_the_oldest(make_server, tmp_path):
    srv = make_server("LogLevel=info", "LogDetails=module", "LogFlushMode=none",
                      "LogRotationMode=keepolder", "LogMaxEventCount=2")
    srv.start()
    one_session(srv)
    srv.stop()
    assert log_lines(tmp_path) == []  # cached, not written yet
    srv.close()  # the cache is written when the server goes
    lines = log_lines(tmp_path)
    assert len(lines) == 2 and lines[0].startswith("server: listening on port"), lines


def test_cached_lines_keep_the_newest(make_server, tmp_path):
    srv = make_server("LogLevel=info", "LogDetails=module", "LogFlushMode=none",
                      "LogRotationMode=deleteolder", "LogMaxEventCount=2")
    srv.start()
    one_session(srv)
    srv.stop()
    srv.close()
    lines = log_lines(tmp_path)
    assert len(lines) == 2 and lines[-1] == "server: stopped", lines


def test_maxcount_flushes_when_the_cache_is_full(make_server, tmp_path):
    srv = make_server("LogLevel=info", "LogDetails=module", "LogFlushMode=maxcount", "LogMaxEventCount=2")
    srv.start()
    one_session(srv)  # listening + SFTP version + the close: two or more lines
    lines = log_lines(tmp_path)  # the server still runs: only a full cache was written
    assert len(lines) >= 2 and len(lines) % 2 == 0, lines
    assert lines[0].startswith("server: listening on port")
