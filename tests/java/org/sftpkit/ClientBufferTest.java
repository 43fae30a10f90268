package org.sftpkit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The caller-owned get/set_client_buffer overloads (issue 14 item 4) through a real client: a
 * direct ByteBuffer, a heap one (with an array offset), a read-only one, a byte[] region; a
 * buffer too small for the WRITE copies nothing and says how much is needed; bad regions and
 * calls outside a handler are refused.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ClientBufferTest {
    static byte[] pattern(int n, int seed) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (i * 13 + seed);
        }
        return b;
    }

    @Test
    void everyBufferKindCarriesTheData() throws Exception {
        byte[] content = pattern(100_000, 5);
        ByteBuffer direct = ByteBuffer.allocateDirect(content.length).put(content).flip();
        ByteBuffer heap = ByteBuffer.wrap(new byte[content.length + 7], 7, content.length).slice().put(content).flip();
        Map<String, String> paths = new ConcurrentHashMap<>();
        Map<String, byte[]> written = new ConcurrentHashMap<>();
        Map<String, String> errors = new ConcurrentHashMap<>();
        int port = ServerTest.freePort();
        try (SSHKey key = new SSHKey(); SFTPServer s = ProviderTest.server(key, port)) {
            s.setOnBeforeDownloadFile(e -> e.setAction(FileRequestAction.fraCustom));
            s.setOnBeforeUploadFile(e -> e.setAction(FileRequestAction.fraCustom));
            s.setOnOpenFile(e -> {
                paths.put(e.getHandle(), e.getPath());
                written.put(e.getPath(), new byte[0]);
            });
            s.setOnReadFile(e -> {
                int off = (int) Math.min(e.getOffset(), content.length);
                int n = (int) Math.min(e.getSize(), content.length - off);
                if (n == 0) {
                    e.setOperationStatus(OperationStatus.ostEOF);
                    return;
                }
                SFTPServer srv = e.getServer();
                switch (paths.get(e.getHandle())) {
                    case "/direct": {
                        ByteBuffer b = direct.duplicate().position(off).limit(off + n);
                        srv.setClientBuffer(e.getConnectionId(), e.getHandle(), b);
                        assertEquals(0, b.remaining(), "position moved past what was sent");
                        break;
                    }
                    case "/heap":
                        srv.setClientBuffer(e.getConnectionId(), "", heap.duplicate().position(off).limit(off + n));
                        break;
                    case "/readonly":
                        srv.setClientBuffer(e.getConnectionId(), "", direct.asReadOnlyBuffer().position(off).limit(off + n));
                        break;
                    default:
                        srv.setClientBuffer(e.getConnectionId(), "", content, off, n);
                }
            });
            s.setOnWriteFile(e -> {
                String path = paths.get(e.getHandle());
                SFTPServer srv = e.getServer();
                byte[] got;
                if (path.equals("/w-small")) {
                    ByteBuffer tiny = ByteBuffer.allocate(10);
                    SFTPKitException x = assertThrows(SFTPKitException.class,
                            () -> srv.getClientBuffer(e.getConnectionId(), "", tiny));
                    assertEquals(0, tiny.position(), "nothing copied");
                    errors.put(path, x.getCode() + " " + x.getMessage());
                    e.setOperationStatus(OperationStatus.ostAccessDenied);
                    return;
                }
                if (path.equals("/w-direct")) {
                    ByteBuffer b = ByteBuffer.allocateDirect(1 << 20);
                    int n = srv.getClientBuffer(e.getConnectionId(), e.getHandle(), b);
                    assertEquals(n, b.position());
                    got = new byte[n];
                    b.flip().get(got);
                } else if (path.equals("/w-heap")) {
                    ByteBuffer b = ByteBuffer.wrap(new byte[(1 << 20) + 3], 3, 1 << 20).slice();
                    int n = srv.getClientBuffer(e.getConnectionId(), "", b);
                    got = Arrays.copyOfRange(b.array(), b.arrayOffset(), b.arrayOffset() + n);
                } else {
                    byte[] a = new byte[(1 << 20) + 9];
                    int n = srv.getClientBuffer(e.getConnectionId(), "", a, 9, 1 << 20);
                    got = Arrays.copyOfRange(a, 9, 9 + n);
                }
                byte[] old = written.get(path);
                byte[] next = Arrays.copyOf(old, Math.max(old.length, (int) e.getOffset() + got.length));
                System.arraycopy(got, 0, next, (int) e.getOffset(), got.length);
                written.put(path, next);
            });
            s.start();
            String out = ProviderTest.run(String.join("\n",
                    "import sys, paramiko",
                    "t = paramiko.Transport(('127.0.0.1', int(sys.argv[1])))",
                    "t.connect(username='a', password='pw')",
                    "s = paramiko.SFTPClient.from_transport(t)",
                    "want = bytes((i * 13 + 5) % 256 for i in range(100000))",
                    "for p in ('/direct', '/heap', '/readonly', '/array'):",
                    "    with s.open(p, 'rb') as f: assert f.read() == want, p",
                    "up = bytes((i * 13 + 9) % 256 for i in range(150000))",
                    "for p in ('/w-direct', '/w-heap', '/w-array'):",
                    "    with s.open(p, 'wb') as f: f.write(up)",
                    "try:",
                    "    with s.open('/w-small', 'wb') as f: f.write(b'x' * 100)",
                    "    print('small accepted')",
                    "except PermissionError: print('small refused')"), "" + port);
            assertEquals("small refused", out);
            assertTrue(s.getHandlerExceptionCount() == 0, "no handler failed: " + s.getLastHandlerException());
        }
        byte[] up = pattern(150_000, 9);
        for (String p : new String[] {"/w-direct", "/w-heap", "/w-array"}) {
            assertArrayEquals(up, written.get(p), p);
        }
        String small = errors.get("/w-small");
        assertTrue(small.startsWith(ErrorCode.INVALID_PARAMETER + " ") && small.contains("100 bytes")
                && small.contains("room for 10"), small);
    }

    @Test
    void refusedOutsideAHandlerAndOutsideTheArray() {
        try (SFTPServer s = new SFTPServer()) {
            SFTPKitException x = assertThrows(SFTPKitException.class,
                    () -> s.getClientBuffer(1, "", ByteBuffer.allocateDirect(16)));
            assertEquals(ErrorCode.INVALID_PARAMETER, x.getCode(), x.toString());
            assertThrows(SFTPKitException.class, () -> s.setClientBuffer(1, "h", new byte[4], 0, 4));
            assertThrows(IndexOutOfBoundsException.class, () -> s.setClientBuffer(1, "", new byte[4], 2, 3));
            assertThrows(IndexOutOfBoundsException.class, () -> s.getClientBuffer(1, "", new byte[4], -1, 2));
            assertThrows(java.nio.ReadOnlyBufferException.class,
                    () -> s.getClientBuffer(1, "", ByteBuffer.allocate(4).asReadOnlyBuffer()));
        }
    }
}
