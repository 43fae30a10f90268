package org.sftpkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The provider layer (SFTPServer.setFileSystem) against real clients: concurrent paramiko sessions
 * each get their own file system from the factory (with the session's user, address and
 * connection id), every operation goes through it, SftpException statuses reach the client, and
 * each session's file system is closed when its client leaves.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class ProviderTest {
    /** N paramiko sessions at once, each with its own content under the same name; "ok N". */
    static final String CLIENTS = String.join("\n",
            "import sys, threading, paramiko",
            "port, n = int(sys.argv[1]), int(sys.argv[2])",
            "ok, errors, lock = [0], [], threading.Lock()",
            "def one(i):",
            "    try:",
            "        t = paramiko.Transport(('127.0.0.1', port))",
            "        t.banner_timeout = t.auth_timeout = 30",
            "        t.connect(username='u%d' % i, password='pw')",
            "        s = paramiko.SFTPClient.from_transport(t)",
            "        assert s.normalize('.') == '/', s.normalize('.')",
            "        data = bytes((i * 7 + k) % 251 for k in range(300000))",
            "        with s.open('/same.bin', 'wb') as f: f.write(data)",
            "        st = s.stat('/same.bin')",
            "        assert st.st_size == len(data) and st.st_mode & 0o777 == 0o640 and st.st_mtime == 1700000000, st",
            "        assert s.listdir('/') == ['same.bin'], s.listdir('/')",
            "        with s.open('/same.bin', 'rb') as f: got = f.read()",
            "        assert got == data, 'session %d read other content' % i",
            "        s.truncate('/same.bin', 10)",
            "        assert s.stat('/same.bin').st_size == 10",
            "        s.mkdir('/d'); s.rename('/same.bin', '/d/moved.bin')",
            "        assert s.listdir('/d') == ['moved.bin'] and s.listdir('/') == ['d']",
            "        s.remove('/d/moved.bin'); s.rmdir('/d')",
            "        assert s.listdir('/') == []",
            "        for path, kind, text in (('/denied', PermissionError, 'denied by the test provider'),",
            "                                 ('/missing', FileNotFoundError, 'No such file: /missing')):",
            "            try:",
            "                s.open(path, 'rb'); raise AssertionError(path + ' opened')",
            "            except kind as e: assert text in str(e), 'the provider message reaches the client: %r' % e",
            "        try:",
            "            s.open('/boom', 'rb'); raise AssertionError('boom opened')",
            "        except (PermissionError, FileNotFoundError) as e: raise AssertionError('boom: ' + repr(e))",
            "        except IOError as e: assert 'internal-detail' not in str(e), 'a bug leaked to the client: %r' % e",
            "        s.close(); t.close()",
            "        with lock: ok[0] += 1",
            "    except Exception as e:",
            "        with lock: errors.append('%d: %r' % (i, e))",
            "ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]",
            "[t.start() for t in ts]; [t.join() for t in ts]",
            "print('ok %d' % ok[0]); [print(e) for e in errors]",
            "sys.exit(0 if not errors else 1)");

    static SFTPServer server(SSHKey key, int port) {
        SFTPServer s = new SFTPServer();
        key.generate("ssh-ed25519", 0);
        s.setServerKeyCount(1);
        s.setServerKeyHandle(0, key.getHandle());
        s.setHost("127.0.0.1");
        s.setPort(port);
        s.setOnAuthPassword(e -> e.setAccept("pw".equals(e.getPassword())));
        return s;
    }

    static String run(String script, String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of("/usr/bin/python3", "-c", script));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        assertTrue(p.waitFor(150, TimeUnit.SECONDS), "clients finished");
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertEquals(0, p.exitValue(), out);
        return out;
    }

    @Test
    void concurrentSessionsEachGetTheirOwnFileSystem() throws Exception {
        int n = 8;
        int port = ServerTest.freePort();
        ConcurrentLinkedQueue<MemoryFs> made = new ConcurrentLinkedQueue<>();
        try (SSHKey key = new SSHKey(); SFTPServer s = server(key, port)) {
            s.setFileSystem(session -> {
                MemoryFs fs = new MemoryFs(session);
                made.add(fs);
                return fs;
            });
            s.start();
            assertEquals("ok " + n, run(CLIENTS, "" + port, "" + n));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (made.stream().anyMatch(f -> !f.closed) && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertEquals(n, made.size(), "one file system per session");
            Set<String> users = new HashSet<>();
            Set<Long> ids = new HashSet<>();
            for (MemoryFs fs : made) {
                users.add(fs.session.getUsername());
                ids.add(fs.session.getConnectionId());
                assertEquals("127.0.0.1", fs.session.getRemoteAddress());
                assertTrue(fs.session.getRemotePort() > 0, fs.session.toString());
                assertTrue(fs.closed, "closed when the client left: " + fs.session);
            }
            assertEquals(n, ids.size(), "distinct connection ids");
            Set<String> expected = new HashSet<>();
            for (int i = 0; i < n; i++) {
                expected.add("u" + i);
            }
            assertEquals(expected, users);
        }
    }

    @Test
    void anApplicationPolicyStillRefusesFirst() throws Exception {
        int port = ServerTest.freePort();
        try (SSHKey key = new SSHKey(); SFTPServer s = server(key, port)) {
            s.setFileSystem(MemoryFs::new);
            // a path policy beside the provider: uploads refused, the rest served
            s.setOnBeforeUploadFile(e -> e.setAction(FileRequestAction.fraAbort));
            s.start();
            String out = run(String.join("\n",
                    "import sys, paramiko",
                    "t = paramiko.Transport(('127.0.0.1', int(sys.argv[1])))",
                    "t.connect(username='a', password='pw')",
                    "s = paramiko.SFTPClient.from_transport(t)",
                    "try:",
                    "    s.open('/x', 'wb'); print('opened')",
                    "except PermissionError: print('refused')",
                    "print(s.listdir('/'))"), "" + port);
            assertEquals("refused\n[]", out);
        }
    }

    @Test
    void removingTheProviderClosesItsSessions() throws Exception {
        int port = ServerTest.freePort();
        ConcurrentLinkedQueue<MemoryFs> made = new ConcurrentLinkedQueue<>();
        try (SSHKey key = new SSHKey(); SFTPServer s = server(key, port)) {
            s.setFileSystem(session -> {
                MemoryFs fs = new MemoryFs(session);
                made.add(fs);
                return fs;
            });
            s.start();
            Process p = new ProcessBuilder("/usr/bin/python3", "-c", String.join("\n",
                    "import sys, paramiko",
                    "t = paramiko.Transport(('127.0.0.1', int(sys.argv[1])))",
                    "t.connect(username='a', password='pw')",
                    "s = paramiko.SFTPClient.from_transport(t)",
                    "print(s.listdir('/'), flush=True)",
                    "sys.stdin.readline()"), "" + port).redirectErrorStream(true).start();
            assertEquals("[]", new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream(),
                    StandardCharsets.UTF_8)).readLine());
            assertEquals(1, made.size());
            s.setFileSystem(null);
            assertTrue(made.peek().closed, "detached sessions are closed");
            p.getOutputStream().close();
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        }
    }

    @Test
    void stoppingTheServerClosesEverySessionsFileSystem() throws Exception {
        int port = ServerTest.freePort();
        ConcurrentLinkedQueue<MemoryFs> made = new ConcurrentLinkedQueue<>();
        try (SSHKey key = new SSHKey(); SFTPServer s = server(key, port)) {
            s.setFileSystem(session -> {
                MemoryFs fs = new MemoryFs(session);
                made.add(fs);
                return fs;
            });
            s.start();
            Process p = new ProcessBuilder("/usr/bin/python3", "-c", String.join("\n",
                    "import sys, paramiko",
                    "t = paramiko.Transport(('127.0.0.1', int(sys.argv[1])))",
                    "t.connect(username='a', password='pw')",
                    "s = paramiko.SFTPClient.from_transport(t)",
                    "f = s.open('/kept-open.txt', 'wb'); f.write(b'x')",
                    "print('open', flush=True)",
                    "sys.stdin.readline()"), "" + port).redirectErrorStream(true).start();
            assertEquals("open", new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream(),
                    StandardCharsets.UTF_8)).readLine());
            s.stop(); // the client is still connected, with a file open
            assertEquals(1, made.size());
            assertTrue(made.peek().closed, "stop() ends the session and closes its file system");
            p.getOutputStream().close();
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        }
    }

    @Test
    void nullFactoryResultIsARefusalNotACrash() throws Exception {
        int port = ServerTest.freePort();
        try (SSHKey key = new SSHKey(); SFTPServer s = server(key, port)) {
            s.setFileSystem(session -> {
                if (session.getUsername().equals("nobody")) {
                    throw new SftpException(OperationStatus.ostAccessDenied, "no files for nobody");
                }
                return new MemoryFs(session);
            });
            s.start();
            String out = run(String.join("\n",
                    "import sys, paramiko",
                    "t = paramiko.Transport(('127.0.0.1', int(sys.argv[1])))",
                    "t.connect(username='nobody', password='pw')",
                    "s = paramiko.SFTPClient.from_transport(t)",
                    "try:",
                    "    s.listdir('/'); print('listed')",
                    "except PermissionError: print('refused')"), "" + port);
            assertEquals("refused", out);
            assertNotNull(s.getLogger());
        }
    }

    /**
     * Two sessions at once, each sending WRITE packets bigger than the pooled 256 KiB buffers (up
     * to the engine's 1 MiB packet), as clients that ignore limits@openssh.com do: "ok".
     */
    static final String OVERSIZED_WRITES = String.join("\n",
            "import sys, threading, paramiko",
            "from paramiko.py3compat import long",
            "from paramiko.sftp import CMD_WRITE",
            "port = int(sys.argv[1])",
            "sizes = [300000, 700000, 1048000, 262145] * 2",
            "errors = []",
            "def chunk(i, k, n):",
            "    pat = bytes((i * 31 + k * 7 + j) % 251 for j in range(251))",
            "    return (pat * (n // 251 + 1))[:n]",
            "def one(i):",
            "    try:",
            "        t = paramiko.Transport(('127.0.0.1', port))",
            "        t.connect(username='u%d' % i, password='pw')",
            "        s = paramiko.SFTPClient.from_transport(t)",
            "        want, at = [], 0",
            "        with s.open('/big%d.bin' % i, 'wb') as f:",
            "            for k, n in enumerate(sizes):",
            "                data = chunk(i, k, n)",
            "                s._request(CMD_WRITE, f.handle, long(at), data)",  // one packet, not paramiko's 32 KiB pieces
            "                want.append(data); at += n",
            "        with s.open('/big%d.bin' % i, 'rb') as f: got = f.read()",
            "        assert got == b''.join(want), 'session %d: %d bytes back of %d' % (i, len(got), at)",
            "        s.close(); t.close()",
            "    except Exception as e:",
            "        errors.append('%d: %r' % (i, e))",
            "ts = [threading.Thread(target=one, args=(i,)) for i in range(2)]",
            "[t.start() for t in ts]; [t.join() for t in ts]",
            "print('ok' if not errors else errors)");

    @Test
    void writesLargerThanThePooledBufferLandAndReuseTheirBuffers() throws Exception {
        int port = ServerTest.freePort();
        MemoryFileSystem fs = new MemoryFileSystem();
        java.lang.management.BufferPoolMXBean direct = java.lang.management.ManagementFactory
                .getPlatformMXBeans(java.lang.management.BufferPoolMXBean.class).stream()
                .filter(b -> b.getName().equals("direct")).findFirst().orElseThrow();
        java.util.function.IntFunction<java.nio.ByteBuffer> real = BufferPool.allocator;
        java.util.concurrent.atomic.AtomicInteger made = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicInteger madeLarge = new java.util.concurrent.atomic.AtomicInteger();
        BufferPool.allocator = n -> {
            made.incrementAndGet();
            if (n == BufferPool.LARGE) {
                madeLarge.incrementAndGet();
            }
            return real.apply(n);
        };
        try (SSHKey key = new SSHKey(); SFTPServer s = server(key, port)) {
            s.setFileSystem(session -> fs);
            s.start();
            long before = direct.getCount();
            assertEquals("ok", run(OVERSIZED_WRITES, "" + port));
            long grown = direct.getCount() - before;
            // 16 oversized WRITEs of two sessions: at most one 1 MiB buffer per concurrent request,
            // and every direct buffer that appeared came from the pool (none made per request)
            assertTrue(madeLarge.get() <= 2, "1 MiB buffers made for 16 oversized WRITEs: " + madeLarge);
            assertTrue(grown <= made.get(), grown + " direct buffers appeared, the pool made " + made);
        } finally {
            BufferPool.allocator = real;
        }
        long perFile = 2L * (300000 + 700000 + 1048000 + 262145);
        assertEquals(perFile, fs.stat("/big0.bin").getSize());
        assertEquals(perFile, fs.stat("/big1.bin").getSize());
    }

    /**
     * The pool hands no buffer out twice: when the 1 MiB buffer of an oversized WRITE cannot be
     * made (OutOfMemoryError), the 256 KiB buffer already taken goes back to the pool once.
     */
    @Test
    void aFailedLargeBufferDoesNotPoolTheSmallOneTwice() throws Exception {
        java.util.function.IntFunction<java.nio.ByteBuffer> real = BufferPool.allocator;
        List<java.nio.ByteBuffer> held = new java.util.ArrayList<>();
        int[] fresh = new int[1];
        BufferPool.allocator = n -> {
            if (n == BufferPool.LARGE) {
                throw new OutOfMemoryError("test: no 1 MiB buffer");
            }
            fresh[0]++;
            return real.apply(n);
        };
        int port = ServerTest.freePort();
        try (SSHKey key = new SSHKey(); SFTPServer s = server(key, port)) {
            try { // empty the 1 MiB pool, so the WRITE below has to make one
                while (true) {
                    held.add(BufferPool.take(BufferPool.LARGE));
                }
            } catch (OutOfMemoryError empty) {
                // the pool had held.size() of them
            }
            s.setFileSystem(MemoryFs::new);
            s.start();
            assertEquals("failed", run(String.join("\n",
                    "import sys, paramiko",
                    "from paramiko.py3compat import long",
                    "from paramiko.sftp import CMD_WRITE",
                    "t = paramiko.Transport(('127.0.0.1', int(sys.argv[1])))",
                    "t.connect(username='a', password='pw')",
                    "s = paramiko.SFTPClient.from_transport(t)",
                    "with s.open('/x', 'wb') as f:",
                    "    try:",
                    "        s._request(CMD_WRITE, f.handle, long(0), b'x' * 500000); print('written')",
                    "    except IOError: print('failed')"), "" + port));
            // take every pooled 256 KiB buffer (until one has to be made): each must come once
            java.util.Set<java.nio.ByteBuffer> seen = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
            int made = fresh[0];
            while (fresh[0] == made) {
                java.nio.ByteBuffer b = BufferPool.take(BufferPool.SIZE);
                assertTrue(seen.add(b), "a buffer the pool holds twice (after " + seen.size() + " distinct ones)");
                held.add(b);
            }
        } finally {
            BufferPool.allocator = real;
            held.forEach(BufferPool::give);
        }
    }

    /** A MemoryFileSystem that counts the files it opened and closed, and its listings made and closed. */
    static final class Counting extends MemoryFileSystem {
        final java.util.concurrent.atomic.AtomicInteger opened = new java.util.concurrent.atomic.AtomicInteger();
        final java.util.concurrent.atomic.AtomicInteger closed = new java.util.concurrent.atomic.AtomicInteger();
        final java.util.concurrent.atomic.AtomicInteger listed = new java.util.concurrent.atomic.AtomicInteger();
        final java.util.concurrent.atomic.AtomicInteger unlisted = new java.util.concurrent.atomic.AtomicInteger();

        /** An Iterable that is also AutoCloseable, as a DirectoryStream is: the bridge closes it with the listing. */
        interface Listing extends Iterable<SftpAttributes>, AutoCloseable {
        }

        @Override
        public SftpFile open(String path, Set<FileOpenMode> modes) throws java.io.IOException {
            SftpFile f = super.open(path, modes);
            opened.incrementAndGet();
            return new SftpFile() {
                @Override
                public int read(long offset, java.nio.ByteBuffer dst) throws java.io.IOException {
                    return f.read(offset, dst);
                }

                @Override
                public void write(long offset, java.nio.ByteBuffer src) throws java.io.IOException {
                    f.write(offset, src);
                }

                @Override
                public SftpAttributes stat() throws java.io.IOException {
                    return f.stat();
                }

                @Override
                public void close() {
                    closed.incrementAndGet();
                }
            };
        }

        @Override
        public Iterable<SftpAttributes> list(String path) throws java.io.IOException {
            Iterable<SftpAttributes> entries = super.list(path);
            listed.incrementAndGet();
            return new Listing() {
                @Override
                public java.util.Iterator<SftpAttributes> iterator() {
                    return entries.iterator();
                }

                @Override
                public void close() {
                    unlisted.incrementAndGet();
                }
            };
        }
    }

    /**
     * A listener added after setFileSystem runs after the provider: when it vetoes an OPEN or
     * OPENDIR the provider already served (a failure status, or by throwing), the library drops
     * the handle with no CLOSE to follow, so the provider closes what it opened then, not at the
     * disconnect; when it renames the handle, the provider follows the new name.
     */
    @Test
    void aListenerVetoingAfterTheProviderLeavesNothingOpen() throws Exception {
        int port = ServerTest.freePort();
        Counting fs = new Counting();
        fs.createDirectories("/veto-dir");
        fs.createDirectories("/throw-dir");
        java.util.concurrent.atomic.AtomicInteger names = new java.util.concurrent.atomic.AtomicInteger();
        try (SSHKey key = new SSHKey(); SFTPServer s = server(key, port)) {
            s.setFileSystem(session -> fs);
            s.setOnHandlerException((event, t) -> { }); // the throwing listener below is expected
            s.addListener(new SFTPServerListener() {
                @Override
                public void onOpenFile(OpenFileEvent e) {
                    if (e.getPath().startsWith("/veto")) {
                        e.setOperationStatus(OperationStatus.ostAccessDenied);
                    } else if (e.getPath().startsWith("/throw")) {
                        throw new IllegalStateException("a listener's bug");
                    } else if (e.getPath().startsWith("/renamed")) {
                        e.setHandle("listener-" + names.incrementAndGet());
                    }
                }

                @Override
                public void onFindFirst(FindFirstEvent e) {
                    if (e.getPath().startsWith("/veto")) {
                        e.setOperationStatus(OperationStatus.ostAccessDenied);
                    } else if (e.getPath().startsWith("/throw")) {
                        throw new IllegalStateException("a listener's bug");
                    } else if (e.getPath().startsWith("/renamed")) {
                        e.setHandle("listener-" + names.incrementAndGet());
                    }
                }
            });
            fs.createDirectories("/renamed-dir");
            s.start();
            Process p = new ProcessBuilder("/usr/bin/python3", "-c", String.join("\n",
                    "import sys, paramiko",
                    "t = paramiko.Transport(('127.0.0.1', int(sys.argv[1])))",
                    "t.connect(username='a', password='pw')",
                    "s = paramiko.SFTPClient.from_transport(t)",
                    "for path in ('/veto.txt', '/throw.txt'):",
                    "    try:",
                    "        s.open(path, 'wb'); print(path + ' opened')",
                    "    except IOError: pass",
                    "for path in ('/veto-dir', '/throw-dir'):",
                    "    try:",
                    "        s.listdir(path); print(path + ' listed')",
                    "    except IOError: pass",
                    "with s.open('/renamed.txt', 'wb') as f: f.write(b'abc')",
                    "assert s.open('/renamed.txt').read() == b'abc'",
                    "assert s.listdir('/renamed-dir') == []",
                    "print('done', flush=True)",
                    "sys.stdin.readline()"), "" + port).redirectErrorStream(true).start();
            try {
                java.io.BufferedReader r = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream(),
                        StandardCharsets.UTF_8));
                String line = r.readLine();
                if (!"done".equals(line)) { // the client failed: show all it said
                    p.getOutputStream().close();
                    StringBuilder all = new StringBuilder(String.valueOf(line));
                    for (String more; (more = r.readLine()) != null;) {
                        all.append('\n').append(more);
                    }
                    throw new AssertionError("the client: " + all);
                }
                // the client is still connected: nothing may wait for its disconnect to be closed
                assertEquals(4, fs.opened.get(), "veto, throw, and renamed twice (write, then read)");
                assertEquals(fs.opened.get(), fs.closed.get(), "every file the provider opened is closed");
                assertEquals(3, fs.listed.get());
                assertEquals(fs.listed.get(), fs.unlisted.get(), "every listing the provider made is closed");
            } finally {
                p.getOutputStream().close();
                assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            }
        }
    }

    static Path unused() {
        return null;
    }
}
