package org.sftpkit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.zip.ZipFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * NioFileSystem serving the default file system and the JDK's zip file system (jdk.zipfs) to
 * OpenSSH's sftp (batch mode, public-key login) and paramiko; results checked in the served
 * file system itself (the directory, or the zip archive reopened with java.util.zip).
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class NioAdapterTest {
    private static final String PARAMIKO = String.join("\n",
            "import sys, paramiko",
            "t = paramiko.Transport(('127.0.0.1', int(sys.argv[1])))",
            "t.connect(username='demo', password='pw')",
            "s = paramiko.SFTPClient.from_transport(t)",
            "data = bytes(k % 253 for k in range(700000))",
            "s.mkdir('/up')",
            "with s.open('/up/big.bin', 'wb') as f: f.write(data)",
            "with s.open('/up/big.bin', 'rb') as f: assert f.read() == data",
            "assert s.stat('/up/big.bin').st_size == len(data)",
            "assert sorted(s.listdir('/')) == sorted(sys.argv[2].split(',')), s.listdir('/')",
            "with s.open('/seed.txt', 'rb') as f: assert f.read() == b'seed\\n'",
            "s.rename('/up/big.bin', '/up/renamed.bin')",
            "with s.open('/up/gone.txt', 'wb') as f: f.write(b'x')",
            "s.remove('/up/gone.txt')",
            "try:",
            "    s.stat('/nothing'); raise AssertionError('stat of a missing file')",
            "except FileNotFoundError: pass",
            "try:",
            "    s.open('/../../etc/passwd', 'rb'); raise AssertionError('left the root')",
            "except FileNotFoundError: pass",
            "print('ok')");

    private static void openSsh(int port, Path work, String batch) throws Exception {
        Path key = work.resolve("id_ed25519");
        Files.copy(Path.of(System.getProperty("sftpkit.source.dir"), "tests/conformance/keys/client_ed25519"), key);
        Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-------"));
        Path script = work.resolve("batch");
        Files.writeString(script, batch);
        Process p = new ProcessBuilder("sftp", "-b", script.toString(), "-P", "" + port, "-i", key.toString(),
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
                "-o", "LogLevel=ERROR", "demo@127.0.0.1").directory(work.toFile()).redirectErrorStream(true).start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "sftp finished");
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), out);
    }

    private static SFTPServer server(SSHKey key, int port) {
        SFTPServer s = ProviderTest.server(key, port);
        s.setOnAuthPublicKey(e -> e.setAccept(e.getUsername().equals("demo")));
        return s;
    }

    private static byte[] pattern(int n) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (i * 31 + 7);
        }
        return b;
    }

    @Test
    void servesTheDefaultFileSystem(@TempDir Path tmp) throws Exception {
        Path root = Files.createDirectory(tmp.resolve("root"));
        Path work = Files.createDirectory(tmp.resolve("work"));
        Files.writeString(root.resolve("seed.txt"), "seed\n");
        Files.write(work.resolve("local.bin"), pattern(300_000));
        int port = ServerTest.freePort();
        try (SSHKey key = new SSHKey(); SFTPServer s = server(key, port)) {
            s.setFileSystem(NioFileSystem.factory(root));
            s.start();
            assertEquals("ok", ProviderTest.run(PARAMIKO, "" + port, "seed.txt,up"));
            openSsh(port, work, String.join("\n", "put local.bin /up/local.bin", "ls -l /up", "get /up/local.bin back.bin",
                    "mkdir /d2", "rename /up/local.bin /d2/l.bin", "-rmdir /d2", "rm /d2/l.bin", "rmdir /d2",
                    "chmod 600 /up/renamed.bin", ""));
        }
        assertArrayEquals(pattern(300_000), Files.readAllBytes(work.resolve("back.bin")));
        assertEquals(700_000, Files.size(root.resolve("up/renamed.bin")));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(root.resolve("up/renamed.bin"))));
        assertFalse(Files.exists(root.resolve("d2")));
        assertFalse(Files.exists(root.resolve("up/gone.txt")));
    }

    @Test
    void servesAZipArchive(@TempDir Path tmp) throws Exception {
        Path zip = tmp.resolve("site.zip");
        Path work = Files.createDirectory(tmp.resolve("work"));
        Files.write(work.resolve("local.bin"), pattern(200_000));
        int port = ServerTest.freePort();
        try (FileSystem zfs = FileSystems.newFileSystem(URI.create("jar:" + zip.toUri()), Map.of("create", "true"))) {
            Files.writeString(zfs.getPath("/seed.txt"), "seed\n");
            try (SSHKey key = new SSHKey(); SFTPServer s = server(key, port)) {
                s.setFileSystem(NioFileSystem.factory(zfs.getPath("/")));
                s.start();
                assertEquals("ok", ProviderTest.run(PARAMIKO, "" + port, "seed.txt,up"));
                openSsh(port, work, String.join("\n", "put local.bin /up/local.bin", "ls -l /up",
                        "get /up/local.bin back.bin", ""));
            }
        }
        assertArrayEquals(pattern(200_000), Files.readAllBytes(work.resolve("back.bin")));
        List<String> names = new ArrayList<>();
        try (ZipFile z = new ZipFile(zip.toFile())) {
            z.stream().forEach(e -> names.add(e.getName()));
            assertArrayEquals(pattern(200_000), z.getInputStream(z.getEntry("up/local.bin")).readAllBytes());
            assertEquals(700_000, z.getEntry("up/renamed.bin").getSize());
        }
        assertTrue(names.contains("seed.txt") && !names.contains("up/gone.txt"), names.toString());
    }
}
