"""An ordinary client hang-up is not a warning in the application's log: libssh 0.10.6 reports
the socket's EOF as three WARN lines, which the server logs at DEBUG (connection.c,
routine_end_of_connection); its own "connection lost" line stays at INFO."""
import logging
import tempfile
import time

import paramiko

from conftest import keyed_server


class Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = []

    def emit(self, record):
        self.records.append(record)


def test_client_hang_up_logs_no_warning():
    logger = logging.getLogger("sftpkit")
    sink = Collect()
    old_level = logger.level
    logger.addHandler(sink)
    logger.setLevel(logging.DEBUG)
    try:
        with tempfile.TemporaryDirectory() as root, keyed_server() as srv:
            srv.base_dir = root
            srv.start()
            for _ in range(2):  # two sessions: each hang-up alike
                t = paramiko.Transport(("127.0.0.1", srv.port))
                t.connect(username="alice", password="pw")
                paramiko.SFTPClient.from_transport(t).listdir("/")
                t.close()
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and sum("connection lost" in r.getMessage()
                                                      for r in sink.records) < 2:
                time.sleep(0.05)
    finally:
        logger.removeHandler(sink)
        logger.setLevel(old_level)
    lost = [r for r in sink.records if "connection lost" in r.getMessage()]
    assert len(lost) == 2 and all(r.levelno == logging.INFO for r in lost), [r.getMessage() for r in sink.records]
    warnings = [r.getMessage() for r in sink.records if r.levelno >= logging.WARNING]
    assert warnings == [], warnings
    # the libssh lines are still there for whoever debugs a connection
    assert any("Socket error: disconnected" in r.getMessage() and r.levelno == logging.DEBUG for r in sink.records)
