"""The smallest real use of the sftpkit wheel: one SFTP server with user demo/demo on
127.0.0.1:PORT serving ROOT, until standard input closes. packaging/test_no_deps.py runs it in a
fresh venv on a machine view without the system's libssh/libcrypto and transfers a file through it.
    python server.py PORT ROOT"""
import sys

import sftpkit


def main():
    port, root = int(sys.argv[1]), sys.argv[2]
    key = sftpkit.SSHKey()
    key.generate("ssh-ed25519")
    srv = sftpkit.SFTPServer()
    srv.server_key_count = 1
    srv.set_server_key_handle(0, key.handle)
    key.close()
    srv.host, srv.port = "127.0.0.1", port
    srv.base_dir = root
    srv.user_count = 1
    srv.set_user_username(0, "demo")
    srv.set_user_password(0, "demo")
    srv.start()
    print("READY sftpkit %s from %s" % (sftpkit.version(), sftpkit.__file__), flush=True)
    sys.stdin.read()
    srv.stop()
    srv.close()


if __name__ == "__main__":
    main()
