package org.sftpkit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * MemoryFileSystem: paged storage (page boundaries, holes, truncation), the quota, the namespace
 * (rename, remove, directories), setstat, concurrent writers on one shared instance, the async
 * view, and one real client through the provider layer.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class MemoryFileSystemTest {
    static final int PAGE = MemoryFileSystem.PAGE_SIZE;
    static final Set<FileOpenMode> CREATE = EnumSet.of(FileOpenMode.cfmWrite, FileOpenMode.cfmCreate);
    static final Set<FileOpenMode> READ = EnumSet.of(FileOpenMode.cfmRead);

    /** What a file or directory named name costs against the quota besides its data. */
    static long entry(String name) {
        return MemoryFileSystem.ENTRY_COST + name.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
    }

    static byte[] pattern(int n, int seed) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (i * 31 + seed);
        }
        return b;
    }

    /** Reads [offset, offset+n) through the SftpFile interface, into a direct buffer as the binding does. */
    static byte[] read(SftpFile f, long offset, int n) throws Exception {
        ByteBuffer dst = ByteBuffer.allocateDirect(n);
        while (dst.hasRemaining() && f.read(offset + dst.position(), dst) > 0) {
            // short reads are allowed
        }
        byte[] out = new byte[dst.flip().remaining()];
        dst.get(out);
        return out;
    }

    @Test
    void pageSizeIs64KiB() {
        assertEquals(65536, PAGE);
        assertEquals(1L << 30, new MemoryFileSystem().getMaxTotalBytes());
    }

    @Test
    void aWriteAcrossPageBoundariesReadsBack() throws Exception {
        MemoryFileSystem fs = new MemoryFileSystem();
        byte[] data = pattern(3 * PAGE + 123, 1);
        try (SftpFile f = fs.open("/a.bin", CREATE)) {
            f.write(0, ByteBuffer.wrap(data, 0, PAGE - 10)); // ends just before the boundary
            ByteBuffer direct = ByteBuffer.allocateDirect(data.length - (PAGE - 10));
            direct.put(data, PAGE - 10, direct.capacity()).flip();
            f.write(PAGE - 10, direct);                       // crosses three boundaries
            assertFalse(direct.hasRemaining(), "the write consumed its buffer");
        }
        assertArrayEquals(data, fs.readAllBytes("/a.bin"));
        try (SftpFile f = fs.open("/a.bin", READ)) {
            byte[] across = read(f, PAGE - 5, 10);
            assertArrayEquals(java.util.Arrays.copyOfRange(data, PAGE - 5, PAGE + 5), across);
            assertArrayEquals(java.util.Arrays.copyOfRange(data, 2 * PAGE, data.length), read(f, 2 * PAGE, 2 * PAGE));
            assertEquals(-1, f.read(data.length, ByteBuffer.allocate(10)), "end of file");
        }
        assertEquals(data.length, fs.stat("/a.bin").getSize());
        assertEquals(data.length + entry("a.bin"), fs.getTotalBytes());
    }

    @Test
    void smallWritesGrowingTheFirstPageKeepTheirBytes() throws Exception {
        MemoryFileSystem fs = new MemoryFileSystem();
        byte[] data = pattern(PAGE + 7000, 3);
        try (SftpFile f = fs.open("/grow", CREATE)) {
            for (int at = 0; at < data.length; at += 1000) {
                f.write(at, ByteBuffer.wrap(data, at, Math.min(1000, data.length - at)));
            }
        }
        assertArrayEquals(data, fs.readAllBytes("/grow"));
    }

    @Test
    void aSparseWriteLeavesZeros() throws Exception {
        MemoryFileSystem fs = new MemoryFileSystem();
        try (SftpFile f = fs.open("/sparse", CREATE)) {
            f.write(0, ByteBuffer.wrap(new byte[] {1, 2, 3}));
            f.write(5L * PAGE + 100, ByteBuffer.wrap(new byte[] {9}));
        }
        byte[] all = fs.readAllBytes("/sparse");
        assertEquals(5 * PAGE + 101, all.length);
        assertEquals(1, all[0]);
        assertEquals(3, all[2]);
        assertEquals(9, all[5 * PAGE + 100]);
        for (int i = 3; i < 5 * PAGE + 100; i++) {
            if (all[i] != 0) {
                throw new AssertionError("byte " + i + " of a hole is " + all[i]);
            }
        }
    }

    @Test
    void truncatingThenExtendingReadsZerosNotOldData() throws Exception {
        MemoryFileSystem fs = new MemoryFileSystem();
        fs.writeAllBytes("/t", pattern(2 * PAGE, 5));
        fs.setStat("/t", new SftpAttributes().size(PAGE + 10));
        assertEquals(PAGE + 10 + entry("t"), fs.getTotalBytes());
        fs.setStat("/t", new SftpAttributes().size(2 * PAGE)); // a hole where data used to be
        byte[] all = fs.readAllBytes("/t");
        assertArrayEquals(java.util.Arrays.copyOf(pattern(2 * PAGE, 5), PAGE + 10), java.util.Arrays.copyOf(all, PAGE + 10));
        for (int i = PAGE + 10; i < 2 * PAGE; i++) {
            assertEquals(0, all[i], "byte " + i);
        }
        try (SftpFile f = fs.open("/t", EnumSet.of(FileOpenMode.cfmWrite, FileOpenMode.cfmTruncate))) {
            assertEquals(0, f.stat().getSize());
        }
        assertEquals(entry("t"), fs.getTotalBytes(), "an empty file costs its entry");
    }

    @Test
    void freedPagesAreReusedAndReadAsZeros() throws Exception {
        MemoryFileSystem fs = new MemoryFileSystem();
        fs.writeAllBytes("/old", pattern(4 * PAGE, 9)); // dirty pages
        fs.remove("/old");
        assertEquals(4, fs.spare().size(), "its whole pages are kept");
        try (SftpFile f = fs.open("/new", CREATE)) {
            f.write(2L * PAGE + 5, ByteBuffer.wrap(new byte[] {7})); // a reused page, written at 5 only
        }
        assertEquals(3, fs.spare().size(), "the write took a kept page");
        byte[] all = fs.readAllBytes("/new");
        for (int i = 0; i < all.length; i++) {
            assertEquals(i == 2 * PAGE + 5 ? 7 : 0, all[i], "byte " + i); // nothing of /old shows
        }
        // a steady upload/truncate cycle allocates no new pages: the pool stays where it was
        for (int round = 0; round < 3; round++) {
            try (SftpFile f = fs.open("/new", EnumSet.of(FileOpenMode.cfmWrite, FileOpenMode.cfmTruncate))) {
                f.write(0, ByteBuffer.wrap(pattern(3 * PAGE, round)));
            }
            assertArrayEquals(pattern(3 * PAGE, round), fs.readAllBytes("/new"));
        }
        assertEquals(1, fs.spare().size(), "each round gives back and takes the same three pages");
        assertEquals(3 * PAGE + entry("new"), fs.getTotalBytes());
    }

    @Test
    void writesPastTheQuotaFailAndChangeNothing() throws Exception {
        MemoryFileSystem fs = new MemoryFileSystem(100_000);
        fs.writeAllBytes("/a", new byte[60_000]);
        try (SftpFile f = fs.open("/b", CREATE)) {
            f.write(0, ByteBuffer.wrap(new byte[30_000]));
            SftpException e = assertThrows(SftpException.class, () -> f.write(30_000, ByteBuffer.wrap(new byte[20_000])));
            assertNull(e.getStatus(), "a plain failure (SSH_FX_FAILURE)");
            assertEquals("quota exceeded", e.getMessage());
            assertEquals(30_000, f.stat().getSize(), "the refused write changed nothing");
            assertThrows(SftpException.class, () -> fs.setStat("/b", new SftpAttributes().size(50_000)));
            f.write(0, ByteBuffer.wrap(new byte[30_000])); // rewriting what exists costs nothing
        }
        assertEquals(90_000 + entry("a") + entry("b"), fs.getTotalBytes());
        fs.remove("/a");
        assertEquals(30_000 + entry("b"), fs.getTotalBytes(), "a removed file gives its bytes and its entry back");
        fs.writeAllBytes("/c", new byte[(int) (100_000 - 30_000 - entry("b") - entry("c"))]); // exactly the quota
        assertEquals(100_000, fs.getTotalBytes());
    }

    @Test
    void replacingPastTheQuotaKeepsTheOldContent() throws Exception {
        MemoryFileSystem fs = new MemoryFileSystem(10_000);
        fs.writeAllBytes("/r", pattern(6000, 2));
        assertEquals("quota exceeded", assertThrows(SftpException.class, () -> fs.writeAllBytes("/r", new byte[20_000])).getMessage());
        assertArrayEquals(pattern(6000, 2), fs.readAllBytes("/r"));
        fs.writeAllBytes("/r", new byte[9000]); // 9000 fits once the old 6000 are given back
        assertEquals(9000 + entry("r"), fs.getTotalBytes());
        fs.writeAllBytes("/r", new byte[10]);
        assertEquals(10 + entry("r"), fs.getTotalBytes());
    }

    @Test
    void offsetsOutOfRangeAreRefused() throws Exception {
        MemoryFileSystem fs = new MemoryFileSystem(Long.MAX_VALUE);
        try (SftpFile f = fs.open("/o", CREATE)) {
            assertEquals(OperationStatus.ostInvalidParameter,
                    assertThrows(SftpException.class, () -> f.write(Long.MAX_VALUE - 1, ByteBuffer.wrap(new byte[10]))).getStatus());
            assertThrows(SftpException.class, () -> f.write(1L << 50, ByteBuffer.wrap(new byte[1])), "past the page index");
            assertThrows(SftpException.class, () -> f.setStat(new SftpAttributes().size(1L << 50)), "a size past it too");
            assertEquals(0, f.stat().getSize());
        }
    }

    @Test
    void renameMovesFilesAndDirectoryTrees() throws Exception {
        MemoryFileSystem fs = new MemoryFileSystem();
        fs.writeAllBytes("/d/sub/x.txt", "x".getBytes());
        fs.writeAllBytes("/d/y.txt", "y".getBytes());
        fs.rename("/d", "/e");
        assertFalse(fs.exists("/d"));
        assertFalse(fs.exists("/d/y.txt"));
        assertArrayEquals("x".getBytes(), fs.readAllBytes("/e/sub/x.txt"));
        assertArrayEquals("y".getBytes(), fs.readAllBytes("/e/y.txt"));
        fs.rename("/e/y.txt", "/y.txt");
        assertEquals(List.of("e", "y.txt"), names(fs.list("/")));
        assertEquals(List.of("sub"), names(fs.list("/e")));
        SftpException exists = assertThrows(SftpException.class, () -> fs.rename("/y.txt", "/e"));
        assertNull(exists.getStatus());
        assertEquals(OperationStatus.ostNoSuchFile,
                assertThrows(SftpException.class, () -> fs.rename("/nope", "/z")).getStatus());
        assertEquals(OperationStatus.ostNoSuchFile,
                assertThrows(SftpException.class, () -> fs.rename("/y.txt", "/missing/z")).getStatus());
        assertThrows(SftpException.class, () -> fs.rename("/e", "/e/sub/inside"));
        assertEquals(OperationStatus.ostAccessDenied,
                assertThrows(SftpException.class, () -> fs.rename("/", "/root")).getStatus());
    }

    @Test
    void removeAndDirectories() throws Exception {
        MemoryFileSystem fs = new MemoryFileSystem();
        fs.mkdir("/d");
        assertThrows(SftpException.class, () -> fs.mkdir("/d"));
        assertEquals(OperationStatus.ostNoSuchFile, assertThrows(SftpException.class, () -> fs.mkdir("/x/y")).getStatus());
        fs.writeAllBytes("/d/f", new byte[5]);
        assertThrows(SftpException.class, () -> fs.rmdir("/d"), "not empty");
        assertThrows(SftpException.class, () -> fs.remove("/d"), "a directory is not removed as a file");
        assertThrows(SftpException.class, () -> fs.rmdir("/d/f"), "a file is not removed as a directory");
        SftpFile open = fs.open("/d/f", CREATE);
        fs.remove("/d/f");
        assertFalse(fs.exists("/d/f"));
        assertEquals(OperationStatus.ostNoSuchFile,
                assertThrows(SftpException.class, () -> open.write(0, ByteBuffer.wrap(new byte[10]))).getStatus(),
                "a handle to a removed file writes nothing (no quota leak)");
        assertEquals(entry("d"), fs.getTotalBytes(), "the directory's entry is all that is left");
        fs.rmdir("/d");
        assertFalse(fs.exists("/d"));
        assertEquals(0, fs.getTotalBytes());
        assertEquals(OperationStatus.ostNoSuchFile, assertThrows(SftpException.class, () -> fs.remove("/d/f")).getStatus());
        assertEquals(OperationStatus.ostAccessDenied, assertThrows(SftpException.class, () -> fs.rmdir("/")).getStatus());
        assertEquals(OperationStatus.ostNoSuchFile, assertThrows(SftpException.class, () -> fs.stat("/d")).getStatus());
    }

    @Test
    void openModes() throws Exception {
        MemoryFileSystem fs = new MemoryFileSystem();
        assertEquals(OperationStatus.ostNoSuchFile, assertThrows(SftpException.class, () -> fs.open("/none", READ)).getStatus());
        assertEquals(OperationStatus.ostNoSuchFile,
                assertThrows(SftpException.class, () -> fs.open("/no/dir", CREATE)).getStatus());
        fs.writeAllBytes("/f", "abc".getBytes());
        assertThrows(SftpException.class,
                () -> fs.open("/f", EnumSet.of(FileOpenMode.cfmWrite, FileOpenMode.cfmCreate, FileOpenMode.cfmExcl)));
        assertThrows(SftpException.class, () -> fs.open("/", READ), "a directory");
        try (SftpFile r = fs.open("/f", READ)) {
            assertEquals(OperationStatus.ostAccessDenied,
                    assertThrows(SftpException.class, () -> r.write(0, ByteBuffer.wrap(new byte[1]))).getStatus());
        }
        try (SftpFile a = fs.open("/f", EnumSet.of(FileOpenMode.cfmWrite, FileOpenMode.cfmAppend))) {
            a.write(0, ByteBuffer.wrap("de".getBytes())); // append: the offset is ignored
        }
        assertArrayEquals("abcde".getBytes(), fs.readAllBytes("/f"));
    }

    @Test
    void setStatKeepsTimesAndPermissions() throws Exception {
        MemoryFileSystem fs = new MemoryFileSystem();
        fs.writeAllBytes("/f", new byte[3]);
        assertEquals(0644, fs.stat("/f").getPermissions());
        assertEquals(0755, fs.stat("/").getPermissions());
        Instant t = Instant.ofEpochSecond(1_600_000_000L);
        fs.setStat("/f", new SftpAttributes().modified(t).permissions(0600));
        SftpAttributes a = fs.stat("/f");
        assertEquals(t, a.getModified());
        assertEquals(0600, a.getPermissions());
        assertEquals(3, a.getSize(), "size unset: unchanged");
        assertEquals("f", a.getName());
    }

    @Test
    void concurrentWritersOnDifferentFilesOfOneInstance() throws Exception {
        MemoryFileSystem fs = new MemoryFileSystem();
        int threads = 8;
        int size = 3 * PAGE + 999;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        CountDownLatch go = new CountDownLatch(1);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int i = 0; i < threads; i++) {
                int id = i;
                done.add(pool.submit(() -> {
                    go.await();
                    byte[] data = pattern(size, id);
                    try (SftpFile f = fs.open("/w" + id, CREATE)) {
                        // interleaved 4 KiB pieces, last piece first: every write lands beside another thread's
                        for (int at = (size / 4096) * 4096; at >= 0; at -= 4096) {
                            f.write(at, ByteBuffer.wrap(data, at, Math.min(4096, size - at)));
                        }
                    }
                    fs.mkdir("/dir" + id); // the namespace under contention too
                    return null;
                }));
            }
            go.countDown();
            for (Future<?> f : done) {
                f.get(60, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        for (int i = 0; i < threads; i++) {
            assertArrayEquals(pattern(size, i), fs.readAllBytes("/w" + i), "file " + i);
        }
        long entries = 0;
        for (int i = 0; i < threads; i++) {
            entries += entry("w" + i) + entry("dir" + i);
        }
        assertEquals((long) threads * size + entries, fs.getTotalBytes());
        assertEquals(2 * threads, names(fs.list("/")).size());
    }

    @Test
    void theAsyncViewSharesTheStore() throws Exception {
        MemoryFileSystem fs = new MemoryFileSystem(100_000);
        AsyncSftpFileSystem now = fs.async();
        AsyncSftpFile f = now.open("/a", CREATE).toCompletableFuture().join();
        f.write(0, ByteBuffer.wrap("hello".getBytes())).toCompletableFuture().join();
        assertArrayEquals("hello".getBytes(), fs.readAllBytes("/a"), "written through the view, seen by the store");
        ByteBuffer b = f.read(1, 100).toCompletableFuture().join();
        assertEquals("ello", new String(b.array(), b.position(), b.remaining()));
        assertEquals(0, f.read(5, 100).toCompletableFuture().join().remaining(), "end of file: empty");
        CompletionException quota = assertThrows(CompletionException.class,
                () -> f.write(0, ByteBuffer.wrap(new byte[200_000])).toCompletableFuture().join());
        assertEquals("quota exceeded", quota.getCause().getMessage());
        CompletionException missing = assertThrows(CompletionException.class,
                () -> now.stat("/none").toCompletableFuture().join());
        assertEquals(OperationStatus.ostNoSuchFile, ((SftpException) missing.getCause()).getStatus());

        ExecutorService pool = Executors.newSingleThreadExecutor(r -> new Thread(r, "mfs-exec"));
        try {
            AsyncSftpFileSystem on = fs.async(pool);
            String[] where = new String[1];
            CountDownLatch hold = new CountDownLatch(1);
            pool.execute(() -> { // the executor is busy, so the stage below cannot be complete yet
                try {
                    hold.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            CompletionStage<Void> made = on.mkdir("/d");
            assertFalse(made.toCompletableFuture().isDone(), "the call waits for the executor");
            CompletionStage<Void> seen = made.thenRun(() -> where[0] = Thread.currentThread().getName());
            hold.countDown();
            seen.toCompletableFuture().get(10, TimeUnit.SECONDS);
            assertEquals("mfs-exec", where[0], "the stage completes on the executor");
            assertTrue(fs.exists("/d"));
            AsyncSftpFile g = on.open("/d/g", CREATE).toCompletableFuture().get(10, TimeUnit.SECONDS);
            g.write(PAGE - 2, ByteBuffer.wrap(new byte[] {7, 8, 9, 10})).toCompletableFuture().get(10, TimeUnit.SECONDS);
            ByteBuffer r = g.read(PAGE - 3, 10).toCompletableFuture().get(10, TimeUnit.SECONDS);
            assertEquals(5, r.remaining());
            assertEquals(0, r.get());
            assertEquals(7, r.get());
            assertEquals(names(fs.list("/")), names(on.list("/").toCompletableFuture().get(10, TimeUnit.SECONDS)));
            on.rename("/d/g", "/g").toCompletableFuture().get(10, TimeUnit.SECONDS);
            on.remove("/g").toCompletableFuture().get(10, TimeUnit.SECONDS);
            on.rmdir("/d").toCompletableFuture().get(10, TimeUnit.SECONDS);
            assertEquals(List.of("a"), names(fs.list("/")));
        } finally {
            pool.shutdownNow();
        }
        assertThrows(IllegalArgumentException.class, () -> fs.async(null));
    }

    @Test
    void theAsyncViewOfASubclassUsesItsOverrides() throws Exception {
        MemoryFs sub = new MemoryFs(null); // wraps the open file and marks stat
        sub.writeAllBytes("/s", pattern(PAGE + 5, 4));
        AsyncSftpFileSystem view = sub.async();
        assertEquals(0640, view.stat("/s").toCompletableFuture().join().getPermissions());
        AsyncSftpFile f = view.open("/s", READ).toCompletableFuture().join();
        ByteBuffer b = f.read(PAGE - 1, 100).toCompletableFuture().join();
        assertEquals(6, b.remaining());
        assertEquals(pattern(PAGE + 5, 4)[PAGE - 1], b.get());
        CompletionException denied = assertThrows(CompletionException.class,
                () -> view.open("/denied", READ).toCompletableFuture().join());
        assertEquals(OperationStatus.ostAccessDenied, ((SftpException) denied.getCause()).getStatus());
    }

    /** One instance shared by two real sessions through setFileSystem: an upload across pages, the quota's text. */
    @Test
    void servedToRealClients() throws Exception {
        MemoryFileSystem fs = new MemoryFileSystem(400_000);
        fs.writeAllBytes("/seed/hello.txt", "hello".getBytes());
        int port = ServerTest.freePort();
        try (SSHKey key = new SSHKey(); SFTPServer s = ProviderTest.server(key, port)) {
            s.setFileSystem(session -> fs);
            s.start();
            String out = ProviderTest.run(String.join("\n",
                    "import sys, paramiko",
                    "def session():",
                    "    t = paramiko.Transport(('127.0.0.1', int(sys.argv[1])))",
                    "    t.connect(username='u', password='pw')",
                    "    return t, paramiko.SFTPClient.from_transport(t)",
                    "t1, a = session(); t2, b = session()",
                    "data = bytes((k * 13) % 256 for k in range(200000))",
                    "with a.open('/up.bin', 'wb') as f: f.write(data)",
                    "with b.open('/up.bin', 'rb') as f: assert f.read() == data, 'the other session reads it'",
                    "assert b.open('/seed/hello.txt').read() == b'hello'",
                    "assert sorted(b.listdir('/')) == ['seed', 'up.bin'], b.listdir('/')",
                    "try:",
                    "    with a.open('/big.bin', 'wb') as f: f.write(b'x' * 300000)",
                    "    raise AssertionError('quota not enforced')",
                    "except IOError as e: assert 'quota exceeded' in str(e), repr(e)",
                    "a.close(); b.close(); t1.close(); t2.close()",
                    "print('ok')"), "" + port);
            assertEquals("ok", out);
        }
        assertEquals(200_000, fs.readAllBytes("/up.bin").length);
        assertNotEquals(0, fs.getTotalBytes());
    }

    /**
     * FSETSTAT size on the handle of a removed file: the node's bytes went back to the quota when
     * it was removed, so growing it now would charge bytes nothing ever refunds. It is refused as
     * a WRITE there is, and another client can still upload the whole quota.
     */
    @Test
    void aSizeChangeOnARemovedOpenFileChargesNothing() throws Exception {
        MemoryFileSystem fs = new MemoryFileSystem(400_000);
        int port = ServerTest.freePort();
        try (SSHKey key = new SSHKey(); SFTPServer s = ProviderTest.server(key, port)) {
            s.setFileSystem(session -> fs);
            s.start();
            String out = ProviderTest.run(String.join("\n",
                    "import sys, paramiko",
                    "def session():",
                    "    t = paramiko.Transport(('127.0.0.1', int(sys.argv[1])))",
                    "    t.connect(username='u', password='pw')",
                    "    return t, paramiko.SFTPClient.from_transport(t)",
                    "t1, a = session(); t2, b = session()",
                    "f = a.open('/x', 'wb')",
                    "a.remove('/x')",
                    "try:",
                    "    f.truncate(400000)",  // FSETSTAT handle size=400000
                    "    raise AssertionError('FSETSTAT on a removed file succeeded')",
                    "except FileNotFoundError: pass",
                    "data = bytes((k * 7) % 256 for k in range(400000 - int(sys.argv[2])))",
                    "with b.open('/full.bin', 'wb') as g: g.write(data)",  // the whole quota, by the other client
                    "assert b.stat('/full.bin').st_size == len(data)",
                    "f.close()",
                    "a.close(); b.close(); t1.close(); t2.close()",
                    "print('ok')"), "" + port, "" + entry("full.bin"));
            assertEquals("ok", out);
        }
        assertEquals(400_000, fs.getTotalBytes());
    }

    @Test
    void everyEntryCostsItsNameAndIsGivenBack() throws Exception {
        MemoryFileSystem fs = new MemoryFileSystem(10_000);
        fs.mkdir("/dir");
        assertEquals(entry("dir"), fs.getTotalBytes());
        fs.open("/dir/empty", CREATE).close();
        fs.open("/dir/empty", CREATE).close(); // opening what exists creates nothing
        fs.writeAllBytes("/é", new byte[3]);   // two UTF-8 bytes
        assertEquals(514, entry("é"));
        long three = entry("dir") + entry("empty") + entry("é") + 3;
        assertEquals(three, fs.getTotalBytes());
        fs.rename("/dir", "/longer-name"); // only the renamed entry's name changes
        assertEquals(three - entry("dir") + entry("longer-name"), fs.getTotalBytes());
        fs.rename("/longer-name", "/d");
        assertEquals(three - entry("dir") + entry("d"), fs.getTotalBytes());
        fs.remove("/d/empty");
        fs.rmdir("/d");
        fs.remove("/é");
        assertEquals(0, fs.getTotalBytes(), "removing gives every entry back");

        fs.writeAllBytes("/big", new byte[(int) (10_000 - entry("big") - entry("x"))]);
        fs.mkdir("/x"); // exactly the quota now
        assertEquals(10_000, fs.getTotalBytes());
        for (SftpException e : List.of(
                assertThrows(SftpException.class, () -> fs.mkdir("/y")),
                assertThrows(SftpException.class, () -> fs.open("/y", CREATE)),
                assertThrows(SftpException.class, () -> fs.rename("/x", "/xx")),
                assertThrows(SftpException.class, () -> fs.writeAllBytes("/y", new byte[0])),
                assertThrows(SftpException.class, () -> fs.createDirectories("/x/y")))) {
            assertNull(e.getStatus(), "a plain failure, as a write past the quota");
            assertEquals("quota exceeded", e.getMessage());
        }
        assertFalse(fs.exists("/y"));
        assertFalse(fs.exists("/x/y"));
        assertTrue(fs.exists("/x"), "a refused rename moves nothing");
        assertFalse(fs.exists("/xx"));
        assertEquals(10_000, fs.getTotalBytes());
        fs.rename("/x", "/z"); // same length: costs nothing more
        fs.rmdir("/z");
        fs.mkdir("/y"); // its room is back
    }

    /**
     * Two clients MKDIR in a loop at once into one shared store: together they stop at the quota,
     * each with a clear "quota exceeded"; a third session still reads and lists meanwhile, cannot
     * create, and uploads once the directories are removed.
     */
    @Test
    void mkdirStopsAtTheQuotaAndRemovingGivesItBack() throws Exception {
        long quota = 100_000;
        MemoryFileSystem fs = new MemoryFileSystem(quota);
        fs.writeAllBytes("/seed.txt", "hello".getBytes());
        long fits = (quota - fs.getTotalBytes()) / entry("a0000"); // names of 5 bytes
        int port = ServerTest.freePort();
        try (SSHKey key = new SSHKey(); SFTPServer s = ProviderTest.server(key, port)) {
            s.setFileSystem(session -> fs);
            s.start();
            String out = ProviderTest.run(String.join("\n",
                    "import sys, threading, paramiko",
                    "def session():",
                    "    t = paramiko.Transport(('127.0.0.1', int(sys.argv[1])))",
                    "    t.connect(username='u', password='pw')",
                    "    return t, paramiko.SFTPClient.from_transport(t)",
                    "made, errors = {}, []",
                    "def fill(prefix, c):",
                    "    n = 0",
                    "    try:",
                    "        while n < 100000:",
                    "            c.mkdir('/%s%04d' % (prefix, n)); n += 1",
                    "        errors.append(prefix + ': no quota')",
                    "    except IOError as e:",
                    "        if 'quota exceeded' not in str(e): errors.append(prefix + ': ' + repr(e))",
                    "    made[prefix] = n",
                    "(ta, a), (tb, b), (tc, c) = session(), session(), session()",
                    "ts = [threading.Thread(target=fill, args=(p, x)) for p, x in (('a', a), ('b', b))]",
                    "[t.start() for t in ts]; [t.join() for t in ts]",
                    "assert not errors, errors",
                    "total = made['a'] + made['b']",
                    "assert c.open('/seed.txt').read() == b'hello', 'reads still work when the quota is full'",
                    "assert len(c.listdir('/')) == total + 1",
                    "try:",
                    "    c.open('/new.bin', 'wb'); raise AssertionError('created past the quota')",
                    "except IOError as e: assert 'quota exceeded' in str(e), repr(e)",
                    "for p, x in (('a', a), ('b', b)):",
                    "    for i in range(made[p]): x.rmdir('/%s%04d' % (p, i))",
                    "data = bytes(k % 253 for k in range(90000))",
                    "with c.open('/new.bin', 'wb') as f: f.write(data)",
                    "assert c.open('/new.bin').read() == data",
                    "for x, t in ((a, ta), (b, tb), (c, tc)): x.close(); t.close()",
                    "print(total)"), "" + port);
            assertEquals(String.valueOf(fits), out, "directories made before the quota stopped them");
        }
        assertEquals(5 + entry("seed.txt") + 90_000 + entry("new.bin"), fs.getTotalBytes());
    }

    static List<String> names(Iterable<SftpAttributes> entries) {
        List<String> out = new ArrayList<>();
        for (SftpAttributes a : entries) {
            out.add(a.getName());
        }
        return out;
    }
}
