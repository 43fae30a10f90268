"""user_data and user_handle (spec "effects": yes) over a real connection. user_data is the
application's own text per user account: what was set before start() is what a handler reads
while that user logs in, and a handler's change is there afterwards. user_handle copies one user
object into another slot: the copy logs in with the original's name and password."""
import paramiko
import pytest

from conftest import keyed_server


@pytest.fixture
def server(tmp_path):
    srv = keyed_server(users=())
    srv.base_dir = str(tmp_path)
    yield srv
    srv.close()


def login(srv, user, password):
    t = paramiko.Transport(("127.0.0.1", srv.port))
    try:
        t.connect(username=user, password=password)
        paramiko.SFTPClient.from_transport(t).listdir("/")
    finally:
        t.close()


def index_of(srv, name):
    return next(i for i in range(srv.user_count) if srv.get_user_username(i) == name)


def test_user_data_reaches_the_handler_of_that_users_login(server):
    server.user_count = 2
    for i, (name, data) in enumerate([("alice", "plan=gold"), ("bob", "plan=free")]):
        server.set_user_username(i, name)
        server.set_user_password(i, "pw")
        server.set_user_data(i, data)
    seen = []

    def succeeded(p):
        i = index_of(server, p.username)
        seen.append((p.username, server.get_user_data(i)))
        server.set_user_data(i, server.get_user_data(i) + ";logins=1")

    server.on_auth_succeeded = succeeded
    server.start()
    login(server, "bob", "pw")
    login(server, "alice", "pw")
    assert seen == [("bob", "plan=free"), ("alice", "plan=gold")]
    assert server.get_user_data(0) == "plan=gold;logins=1"
    assert server.get_user_data(1) == "plan=free;logins=1"


def test_user_handle_copies_a_user_that_then_logs_in(server):
    server.user_count = 2
    server.set_user_username(0, "alice")
    server.set_user_password(0, "secret")
    server.set_user_username(1, "placeholder")
    server.set_user_password(1, "other")
    server.set_user_handle(1, server.get_user_handle(0))  # slot 1 becomes a copy of alice
    server.set_user_username(0, "carol")  # the original changes; the copy does not
    server.start()
    login(server, "alice", "secret")  # only the copy can accept this
    with pytest.raises(paramiko.AuthenticationException):
        login(server, "placeholder", "other")
    assert server.get_user_username(1) == "alice"
