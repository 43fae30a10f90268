import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.security.spec.KeySpec;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;
import org.sftpkit.AuthType;
import org.sftpkit.SFTPServer;
import org.sftpkit.SFTPServerListener;
import org.sftpkit.SSHKey;

/**
 * An SFTP server whose password check is the application's own code: the users live in this
 * program (salted PBKDF2 hashes, compared in constant time), not in the server's user list.
 *
 * <p>Run (after the build, from the repository root):
 * <pre>
 *   java -cp build/java/sftpkit.jar samples/java/CallbackAuthServer.java --root ./sftp-root --user demo:demo
 *   sftp -P 2222 demo@127.0.0.1
 * </pre>
 * Options: --root DIR (./sftp-root), --host ADDR (127.0.0.1), --port N (2222), --user NAME:PASSWORD
 * (repeatable; demo:demo when none), --host-key FILE (an OpenSSH/PEM private key; a fresh
 * ed25519 key otherwise). Ctrl-C stops it.
 */
public final class CallbackAuthServer {
    /** name -> salt and PBKDF2 hash of the password. */
    private static final Map<String, byte[][]> USERS = new LinkedHashMap<>();

    private static byte[] pbkdf2(String password, byte[] salt) throws Exception {
        KeySpec spec = new PBEKeySpec(password.toCharArray(), salt, 120_000, 256);
        return SecretKeyFactory.getInstance("PBKDF2WithHmacSHA256").generateSecret(spec).getEncoded();
    }

    private static void addUser(String name, String password) throws Exception {
        byte[] salt = new byte[16];
        new SecureRandom().nextBytes(salt);
        USERS.put(name, new byte[][] {salt, pbkdf2(password, salt)});
    }

    /** The application's verdict; runs on a server thread for every password attempt. */
    private static boolean checkPassword(String user, String password) throws Exception {
        byte[][] entry = USERS.get(user);
        if (entry == null) {
            pbkdf2(password, new byte[16]); // same work for unknown users: no timing oracle
            return false;
        }
        return MessageDigest.isEqual(entry[1], pbkdf2(password, entry[0]));
    }

    public static void main(String[] args) throws Exception {
        String root = "./sftp-root";
        String host = "127.0.0.1";
        int port = 2222;
        String hostKeyFile = null;
        for (int i = 0; i < args.length; i++) {
            String value = i + 1 < args.length ? args[i + 1] : null;
            switch (args[i]) {
                case "--root": root = value; i++; break;
                case "--host": host = value; i++; break;
                case "--port": port = Integer.parseInt(value); i++; break;
                case "--host-key": hostKeyFile = value; i++; break;
                case "--user": {
                    int colon = value == null ? -1 : value.indexOf(':');
                    if (colon < 1) {
                        throw new IllegalArgumentException("--user NAME:PASSWORD");
                    }
                    addUser(value.substring(0, colon), value.substring(colon + 1));
                    i++;
                    break;
                }
                default:
                    System.err.println("usage: CallbackAuthServer [--root DIR] [--host ADDR] [--port N] "
                            + "[--user NAME:PASSWORD]... [--host-key FILE]");
                    System.exit(2);
            }
        }
        if (USERS.isEmpty()) {
            addUser("demo", "demo");
        }
        Files.createDirectories(Path.of(root));

        try (SFTPServer srv = new SFTPServer(); SSHKey key = new SSHKey()) {
            if (hostKeyFile != null) {
                key.importFile(hostKeyFile, null);
            } else {
                key.generate("ssh-ed25519", 0);
            }
            srv.setServerKeyCount(1);
            srv.setServerKeyHandle(0, key.getHandle()); // the server keeps its own copy
            srv.setHost(host);
            srv.setPort(port);
            srv.setBaseDir(Path.of(root).toAbsolutePath().toString());
            srv.setAuthTypes(EnumSet.of(AuthType.atPassword)); // passwords only: our callback decides

            // The decision: a lambda for the one event that matters.
            srv.setOnAuthPassword(e -> e.setAccept(checkPassword(e.getUsername(), e.getPassword())));

            // Logging: one listener object for several events.
            srv.addListener(new SFTPServerListener() {
                @Override
                public void onConnect(org.sftpkit.ConnectEvent e) {
                    log("connection " + e.getConnectionId() + " from " + e.getRemoteAddress() + ":" + e.getRemotePort());
                }

                @Override
                public void onAuthSucceeded(org.sftpkit.AuthSucceededEvent e) {
                    log("connection " + e.getConnectionId() + ": " + e.getUsername() + " signed in");
                }

                @Override
                public void onAuthFailed(org.sftpkit.AuthFailedEvent e) {
                    log("connection " + e.getConnectionId() + ": sign-in refused for " + e.getUsername());
                }

                @Override
                public void onDisconnect(org.sftpkit.DisconnectEvent e) {
                    log("connection " + e.getConnectionId() + " closed");
                }
            });
            srv.setOnHandlerException((event, error) -> log(event + " handler failed (request denied): " + error));

            srv.start();
            log("serving " + srv.getBaseDir() + " on " + host + ":" + port + " for " + USERS.keySet());
            log("host key: " + key.exportPublic());

            awaitShutdown();
            log("stopping");
        } finally {
            CLOSED.countDown(); // lets the shutdown hook (and so the JVM) finish
        }
    }

    private static final CountDownLatch STOP = new CountDownLatch(1);
    private static final CountDownLatch CLOSED = new CountDownLatch(1);

    /** Blocks until Ctrl-C / SIGTERM; the hook then waits until main has closed the server. */
    static void awaitShutdown() throws InterruptedException {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            STOP.countDown();
            try {
                CLOSED.await(10, java.util.concurrent.TimeUnit.SECONDS);
            } catch (InterruptedException ignored) {
                Thread.currentThread().interrupt();
            }
        }));
        STOP.await();
    }

    private static void log(String line) {
        System.out.println("[callback-auth] " + line);
        System.out.flush();
    }
}
