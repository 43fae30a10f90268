package org.sftpkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.ref.WeakReference;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real server on 127.0.0.1 driven by real SSH clients (paramiko on Debian's /usr/bin/python3):
 * 20 concurrent clients authenticated by a Java handler on the server threads, uploads and
 * downloads, close() while clients are connected, a started server kept alive without references,
 * and a JVM that exits with a server still running.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class ServerTest {
    /** A paramiko client: N threads each connect, upload, list, download and compare; prints "ok N". */
    private static final String CLIENTS = String.join("\n",
            "import sys, threading, paramiko",
            "port, n, user_prefix, password = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]",
            "ok, errors, lock = [0], [], threading.Lock()",
            "def one(i):",
            "    try:",
            "        t = paramiko.Transport(('127.0.0.1', port))",
            "        t.banner_timeout = t.auth_timeout = 30",
            "        t.connect(username='%s%d' % (user_prefix, i), password=password)",
            "        s = paramiko.SFTPClient.from_transport(t)",
            "        data = ('client %d \\u00e9\\n' % i).encode() * 1000",
            "        with s.open('f%d.txt' % i, 'wb') as f: f.write(data)",
            "        assert 'f%d.txt' % i in s.listdir('.')",
            "        with s.open('f%d.txt' % i, 'rb') as f: assert f.read() == data",
            "        s.close(); t.close()",
            "        with lock: ok[0] += 1",
            "    except Exception as e:",
            "        with lock: errors.append('%d: %r' % (i, e))",
            "ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]",
            "[t.start() for t in ts]; [t.join() for t in ts]",
            "print('ok %d' % ok[0]); [print(e) for e in errors]",
            "sys.exit(0 if not errors else 1)");

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            return s.getLocalPort();
        }
    }

    static String runClients(int port, int n, String userPrefix, String password) throws Exception {
        Process p = new ProcessBuilder("/usr/bin/python3", "-c", CLIENTS, "" + port, "" + n, userPrefix, password)
                .redirectErrorStream(true).start();
        assertTrue(p.waitFor(150, TimeUnit.SECONDS), "clients finished");
        return new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    }

    static SFTPServer serving(Path root, SSHKey key, int port) {
        SFTPServer s = new SFTPServer();
        key.generate("ssh-ed25519", 0);
        s.setServerKeyCount(1);
        s.setServerKeyHandle(0, key.getHandle());
        s.setHost("127.0.0.1");
        s.setPort(port);
        s.setBaseDir(root.toString());
        return s;
    }

    @Test
    void twentyConcurrentClientsAuthenticatedByAJavaHandler(@TempDir Path root) throws Exception {
        int port = freePort();
        int baseline = FireHooks.liveRegistrations();
        Set<String> handlerThreads = ConcurrentHashMap.newKeySet();
        Map<String, Long> connections = new ConcurrentHashMap<>();
        AtomicInteger accepted = new AtomicInteger();
        try (SSHKey key = new SSHKey(); SFTPServer s = serving(root, key, port)) {
            // 20 handshakes at once from one address is a burst the default admission control
            // (PerSourceMaxStartups 8, MaxStartups 10:30:100) refuses in part, by design.
            s.config("MaxStartups=0");
            s.config("PerSourceMaxStartups=0");
            s.setOnAuthPassword(e -> {
                handlerThreads.add(Thread.currentThread().getName());
                boolean ok = e.getUsername().startsWith("user") && e.getPassword().equals("p\u00e4ss");
                // a call back into the server from the server thread, while 19 others do the same
                ok &= e.getServer().getActive();
                e.setAccept(ok);
                if (ok) {
                    accepted.incrementAndGet();
                    connections.put(e.getUsername(), e.getConnectionId());
                }
            });
            s.setOnHandlerException((ev, err) -> handlerThreads.add("EXCEPTION " + ev + " " + err));
            s.start();
            assertTrue(s.getActive());
            String out = runClients(port, 20, "user", "p\u00e4ss");
            assertTrue(out.startsWith("ok 20"), out);
            assertEquals(20, accepted.get());
            assertEquals(20, connections.size());
            assertEquals(20, Set.copyOf(connections.values()).size(), "distinct connection ids");
            assertFalse(handlerThreads.contains(Thread.currentThread().getName()), "handlers ran on server threads");
            assertTrue(handlerThreads.stream().noneMatch(n -> n.startsWith("EXCEPTION")), handlerThreads.toString());
            for (int i = 0; i < 20; i++) {
                assertEquals(1000L * ("client " + i + " \u00e9\n").getBytes(StandardCharsets.UTF_8).length,
                        Files.size(root.resolve("f" + i + ".txt")));
            }
            String refused = runClients(port, 1, "user", "wrong");
            assertFalse(refused.startsWith("ok 1"), refused);
            s.stop();
            assertFalse(s.getActive());
            // every server thread that entered Java was detached when it ended
            List<String> attached = Thread.getAllStackTraces().keySet().stream().map(Thread::getName)
                    .filter(n -> n.startsWith("sftpkit:")).toList();
            assertEquals(List.of(), attached, "server threads still attached after stop()");
        }
        assertEquals(baseline, FireHooks.liveRegistrations());
    }

    @Test
    void closeWhileClientsAreConnected(@TempDir Path root) throws Exception {
        int port = freePort();
        int baseline = FireHooks.liveRegistrations();
        SSHKey key = new SSHKey();
        SFTPServer s = serving(root, key, port);
        AtomicInteger connects = new AtomicInteger();
        s.setOnConnect(e -> connects.incrementAndGet());
        s.setOnAuthPassword(e -> e.setAccept(true));
        s.start();
        Process p = new ProcessBuilder("/usr/bin/python3", "-c", String.join("\n",
                "import sys, time, paramiko",
                "t = paramiko.Transport(('127.0.0.1', int(sys.argv[1])))",
                "t.connect(username='u', password='p')",
                "s = paramiko.SFTPClient.from_transport(t)",
                "print('connected', flush=True)",
                "try:",
                "    while True: s.listdir('.'); time.sleep(0.05)",
                "except Exception as e: print('dropped', flush=True)"), "" + port).redirectErrorStream(true).start();
        String first = new String(p.getInputStream().readNBytes("connected".length()), StandardCharsets.UTF_8);
        assertEquals("connected", first);
        s.close();
        key.close();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "the client saw the connection close");
        assertTrue(new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).contains("dropped"));
        assertEquals(1, connects.get());
        assertEquals(baseline, FireHooks.liveRegistrations(), "close() released the dispatcher");
    }

    @Test
    void aStartedServerStaysAliveWithoutReferences(@TempDir Path root) throws Exception {
        int port = freePort();
        WeakReference<SFTPServer> weak;
        try (SSHKey key = new SSHKey()) {
            SFTPServer s = serving(root, key, port);
            s.setOnAuthPassword(e -> e.setAccept(e.getServer().getPort() == port));
            s.start();
            weak = new WeakReference<>(s);
        }
        for (int i = 0; i < 5; i++) {
            System.gc();
            Thread.sleep(20);
        }
        SFTPServer alive = weak.get();
        assertNotNull(alive, "a serving server is not collected");
        try {
            assertTrue(runClients(port, 2, "anyone", "x").startsWith("ok 2"));
        } finally {
            alive.close();
        }
    }

    @Test
    void theJvmExitsWithAServerStillRunning(@TempDir Path dir) throws Exception {
        Path app = dir.resolve("Exit.java");
        Files.writeString(app, String.join("\n",
                "public class Exit { public static void main(String[] a) throws Exception {",
                "  org.sftpkit.SSHKey k = new org.sftpkit.SSHKey(); k.generate(\"ssh-ed25519\", 0);",
                "  org.sftpkit.SFTPServer s = new org.sftpkit.SFTPServer();",
                "  s.setServerKeyCount(1); s.setServerKeyHandle(0, k.getHandle());",
                "  s.setHost(\"127.0.0.1\"); s.setPort(" + freePort() + ");",
                "  s.setOnConnect(e -> { }); s.start();",
                "  System.out.println(\"started \" + s.getActive()); } }"));
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "-cp", System.getProperty("sftpkit.jar"), app.toString())
                .redirectErrorStream(true).start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the JVM exited");
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertEquals(0, p.exitValue(), out);
        assertEquals(List.of("started true"), out.lines().toList());
    }
}
