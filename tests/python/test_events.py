"""Event dispatch from native threads: params objects, by-ref write-back, the library's initial
verdict, fail-closed handler exceptions, the GIL under many native threads, re-entrancy."""
import logging
import threading
import time

import pytest

import sftpkit
from sftpkit import SFTPKitError


def test_no_handler_no_call(srv, hooks):
    ran, out = hooks.fire(srv, "on_auth_password", username="u", password="p", accept=1)
    assert ran == 0 and out["accept"] is True


def test_params_and_write_back(srv, hooks):
    seen = {}

    def handler(p):
        seen.update(p.as_dict())
        seen["thread"] = threading.get_ident()
        seen["type"] = type(p).__name__
        seen["repr"] = repr(p)
        p.accept = True
        p.force_change_password = True

    srv.on_auth_password = handler
    ran, out = hooks.fire(srv, "on_auth_password", connection_id=7, username="alice", password="s3cret", accept=0)
    assert ran == 1
    assert seen["connection_id"] == 7 and seen["username"] == "alice" and seen["password"] == "s3cret"
    assert seen["accept"] is False and seen["force_change_password"] is False
    assert seen["type"] == "SFTPServerAuthPasswordEventParams"
    assert "s3cret" not in seen["repr"] and "password='***'" in seen["repr"]
    assert out["accept"] is True and out["force_change_password"] is True


def test_initial_verdict_kept_when_handler_does_nothing(srv, hooks):
    srv.on_auth_password = lambda p: None
    assert hooks.fire(srv, "on_auth_password", username="a", accept=1)[1]["accept"] is True
    assert hooks.fire(srv, "on_auth_password", username="a", accept=0)[1]["accept"] is False


def test_string_and_int_by_ref(srv, hooks):
    def open_file(p):
        assert p.modes == 26 and p.path == "/ü.txt"
        p.handle = "my-handle-✓"
        p.operation_status = sftpkit.ostNoSuchFile

    srv.on_open_file = open_file
    _, out = hooks.fire(srv, "on_open_file", path="/ü.txt", modes=26, operation_status=1, handle="h1")
    assert out["handle"] == "my-handle-✓" and out["operation_status"] == 2

    def translate(p):
        p.absolute_path = "/virtual" + p.path
        p.action = sftpkit.fraCustom

    srv.on_translate_path = translate
    _, out = hooks.fire(srv, "on_translate_path", path="/x", absolute_path="/x", action=1)
    assert out == {"connection_id": 0, "path": "/x", "absolute_path": "/virtual/x", "action": 2}


def test_read_only_params_cannot_be_set(srv, hooks):
    errors = []

    def handler(p):
        try:
            p.username = "x"
        except AttributeError as e:
            errors.append(e)

    srv.on_auth_password = handler
    hooks.fire(srv, "on_auth_password", username="u")
    assert len(errors) == 1


def test_params_invalid_after_handler(srv, hooks):
    kept = []
    srv.on_connect = kept.append
    hooks.fire(srv, "on_connect", connection_id=1, remote_address="127.0.0.1", remote_port=5)
    with pytest.raises(SFTPKitError) as e:
        kept[0].remote_address
    assert e.value.code == sftpkit.ErrorCode.INVALID_STATE
    assert "handler returned" in repr(kept[0])


def test_exception_fails_closed_and_is_logged(srv, hooks, caplog):
    def boom(p):
        p.accept = True
        raise RuntimeError("handler bug")

    srv.on_auth_password = boom
    srv.on_auth_public_key = boom
    srv.on_auth_attempt = boom
    srv.on_accept = boom
    with caplog.at_level(logging.ERROR, logger="sftpkit"):
        for ev in ("on_auth_password", "on_auth_public_key", "on_auth_attempt", "on_accept"):
            ran, out = hooks.fire(srv, ev, accept=1)
            assert ran == 1 and out["accept"] is False, ev
    assert len([r for r in caplog.records if "handler bug" in (r.exc_text or "")]) == 4
    assert "on_auth_password handler raised" in caplog.text


def test_exception_aborts_file_decisions(srv, hooks, caplog):
    def boom(p):
        raise ValueError("nope")

    srv.on_before_upload_file = boom
    srv.on_open_file = boom
    srv.on_after_remove = boom
    with caplog.at_level(logging.ERROR, logger="sftpkit"):
        assert hooks.fire(srv, "on_before_upload_file", path="/a", action=1)[1]["action"] == sftpkit.fraAbort
        assert hooks.fire(srv, "on_open_file", path="/a", operation_status=1)[1]["operation_status"] == \
            sftpkit.ostAccessDenied
        # after the fact: the library's result stands
        assert hooks.fire(srv, "on_after_remove", path="/a", operation_status=1)[1]["operation_status"] == 1


def test_base_exceptions_are_contained(srv, hooks, caplog):
    def leave(p):
        raise SystemExit(3)

    srv.on_auth_password = leave
    with caplog.at_level(logging.ERROR, logger="sftpkit"):
        assert hooks.fire(srv, "on_auth_password", accept=1)[1]["accept"] is False


def test_handler_runs_on_the_native_thread(srv, hooks):
    threads = []
    srv.on_connect = lambda p: threads.append(threading.current_thread())
    assert hooks.fire_threads(srv, "on_connect", 1, 1) == 1
    assert threads[0] is not threading.main_thread()


def test_gil_under_20_native_threads(srv, hooks):
    lock = threading.Lock()
    seen = set()
    idents = set()

    def on_connect(p):
        cid = p.connection_id
        assert p.remote_address == "127.0.0.1"
        time.sleep(0)  # yield the GIL inside the handler
        with lock:
            seen.add(cid)
            idents.add(threading.get_ident())

    srv.on_connect = on_connect
    total = hooks.fire_threads(srv, "on_connect", 20, 50)
    assert total == 1000
    assert seen == set(range(1, 1001))
    assert len(idents) >= 2


def test_main_thread_keeps_running_while_handlers_run(srv, hooks):
    """The binding releases the GIL around C calls: a handler on a native thread can run while
    the main thread is inside a blocking call into the library."""
    entered = threading.Event()

    def on_connect(p):
        entered.set()

    srv.on_connect = on_connect
    t = threading.Thread(target=hooks.fire_threads, args=(srv, "on_connect", 4, 10))
    t.start()
    t.join(30)
    assert not t.is_alive() and entered.is_set()


def test_handler_calls_back_into_the_server(srv, hooks):
    results = []

    def handler(p):
        srv.port = 2500
        results.append((srv.port, srv.list_clients()))
        try:
            srv.pin_client(p.connection_id)
        except SFTPKitError as e:
            results.append(e.code)

    srv.on_session_established = handler
    hooks.fire(srv, "on_session_established", connection_id=4)
    assert results == [(2500, ""), sftpkit.ErrorCode.INVALID_PARAMETER]


def test_close_from_inside_handler_is_refused(srv, hooks):
    errors = []

    def handler(p):
        try:
            srv.close()
        except SFTPKitError as e:
            errors.append(e.code)

    srv.on_disconnect = handler
    hooks.fire(srv, "on_disconnect", connection_id=1)
    assert errors == [sftpkit.ErrorCode.INVALID_STATE] and not srv.closed


def test_replacing_and_removing_handlers(srv, hooks):
    calls = []
    srv.on_connect = lambda p: calls.append("a")
    hooks.fire(srv, "on_connect")
    srv.on_connect = lambda p: calls.append("b")
    hooks.fire(srv, "on_connect")
    srv.on_connect = None
    assert hooks.fire(srv, "on_connect")[0] == 0
    srv.on_disconnect = lambda p: calls.append("d")
    hooks.fire(srv, "on_connect")  # the handler is installed for on_disconnect only
    hooks.fire(srv, "on_disconnect")
    assert calls == ["a", "b", "d"]


def test_replace_handler_while_threads_fire(srv, hooks):
    count = [0]
    srv.on_connect = lambda p: count.__setitem__(0, count[0] + 1)
    t = threading.Thread(target=hooks.fire_threads, args=(srv, "on_connect", 8, 200))
    t.start()
    for i in range(200):
        srv.on_connect = (lambda p: count.__setitem__(0, count[0] + 1)) if i % 2 else None
    srv.on_connect = lambda p: None
    t.join(60)
    assert not t.is_alive()


def test_every_event_reaches_its_params_class(srv, hooks):
    got = {}
    for name in sftpkit.EVENT_IDS:
        setattr(srv, name, lambda p, name=name: got.setdefault(name, type(p).__name__))
    for name in sftpkit.EVENT_IDS:
        assert hooks.fire(srv, name)[0] == 1, name
    assert len(got) == 42  # the document's 39, sftpkit's link pair and on_auth_password_change
    assert got["on_find_first"] == "SFTPServerFindFirstEventParams"
