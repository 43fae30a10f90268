import org.sftpkit.SFTPServer;
import org.sftpkit.SSHKey;

/**
 * The smallest real use of the sftpkit jar: one SFTP server with user demo/demo on 127.0.0.1:PORT
 * serving ROOT, until standard input closes (packaging/test_no_deps.py, `java -cp sftpkit.jar:.`).
 */
public final class NoDepsServer {
    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        try (SFTPServer srv = new SFTPServer(); SSHKey key = new SSHKey()) {
            key.generate("ssh-ed25519", 0);
            srv.setServerKeyCount(1);
            srv.setServerKeyHandle(0, key.getHandle());
            srv.setHost("127.0.0.1");
            srv.setPort(port);
            srv.setBaseDir(args[1]);
            srv.setUserCount(1);
            srv.setUserUsername(0, "demo");
            srv.setUserPassword(0, "demo");
            srv.start();
            System.out.println("READY sftpkit on " + System.getProperty("os.arch"));
            System.out.flush();
            while (System.in.read() >= 0) {
                // serve until standard input closes
            }
            srv.stop();
        }
    }
}
