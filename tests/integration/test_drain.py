"""Graceful drain (DrainTimeout): stop() closes the listener at once (a new client is refused),
ends idle sessions at once, lets a transfer in progress finish (the file arrives whole), then ends
that session too; a transfer that does not finish in time is cut at the deadline. Without
DrainTimeout, stop() ends everything at once as before."""
import os
import socket
import time

from conftest import login


def stop_in_background(server):
    """Sends "stop" without waiting; returns a function that waits for and returns its reply."""
    server.proc.stdin.write("stop\n")
    server.proc.stdin.flush()
    sent = time.monotonic()

    def reply(timeout=30):
        r = server.replies.get(timeout=timeout)
        assert r["reply"] == "stop" and r["rc"] == 0, r
        return r, time.monotonic() - sent
    return reply


def refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return False
    except ConnectionRefusedError:
        return True


def wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_drain_lets_the_transfer_finish(make_server):
    server = make_server("--user", "bob:builder", "--config", "DrainTimeout=15000")
    busy_t, busy = login(server.port, "bob", password="builder")
    idle_t, idle = login(server.port, "bob", password="builder")
    chunk = os.urandom(64 * 1024)
    f = busy.open("big.bin", "wb")
    f.write(chunk)
    f.flush()
    wait_reply = stop_in_background(server)
    # the listener closes at once; the idle session is ended at once
    assert wait_for(lambda: refused(server.port), 3), "still accepting during the drain"
    assert wait_for(lambda: not idle_t.is_active(), 3), "the idle session was not ended"
    # the busy one keeps working: two more seconds of writes, then its close
    t0 = time.monotonic()
    written = len(chunk)
    while time.monotonic() - t0 < 2.0:
        f.write(chunk)
        written += len(chunk)
        time.sleep(0.1)
    f.close()
    reply, took = wait_reply()
    assert 2.0 <= took < 10, took
    assert os.path.getsize(os.path.join(server.root, "big.bin")) == written
    assert wait_for(lambda: not busy_t.is_active(), 3)
    # the drain is not an error: no on_error for either session
    assert not [e for e in server.find("on_error") if "stopping" in e.get("description", "")]
    busy_t.close()
    idle_t.close()


def test_drain_deadline_cuts_a_transfer_that_does_not_end(make_server):
    server = make_server("--user", "bob:builder", "--config", "DrainTimeout=1000")
    t, sftp = login(server.port, "bob", password="builder")
    f = sftp.open("stuck.bin", "wb")
    f.write(b"x" * 1000)
    f.flush()
    wait_reply = stop_in_background(server)
    reply, took = wait_reply()
    assert 0.9 <= took < 3.5, took  # the deadline, then the usual graceful/forced end
    assert wait_for(lambda: not t.is_active(), 3)
    t.close()


def test_without_drain_timeout_stop_is_immediate(make_server):
    server = make_server("--user", "bob:builder")
    t, sftp = login(server.port, "bob", password="builder")
    f = sftp.open("open.bin", "wb")
    f.write(b"x" * 1000)
    f.flush()
    reply, took = stop_in_background(server)()
    assert took < 3, took  # no drain: the usual end (graceful, forced after 0.5 s)
    t.close()
