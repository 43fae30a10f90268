package org.sftpkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** SSHKey: generate, export, import from file and bytes, handles into the server's key slots. */
class KeyTest {
    @Test
    void generateExportAndInstallAsHostKey() {
        try (SSHKey k = new SSHKey(); SFTPServer s = new SFTPServer()) {
            k.generate("ssh-ed25519", 0);
            String line = k.exportPublic();
            assertTrue(line.startsWith("ssh-ed25519 AAAA"), line);
            long h = k.getHandle();
            assertNotEquals(0L, h);
            s.setServerKeyCount(1);
            s.setServerKeyHandle(0, h);
            assertEquals("ssh-ed25519", s.getServerKeyAlgorithm(0));
        }
    }

    @Test
    void importBytesOfAnOpenSshPublicKeyLine(@TempDir Path dir) throws Exception {
        try (SSHKey k = new SSHKey(); SSHKey copy = new SSHKey(); SSHKey fromFile = new SSHKey()) {
            k.generate("ecdsa-sha2-nistp256", 0);
            String line = k.exportPublic();
            copy.importBytes(line.getBytes(StandardCharsets.UTF_8));
            assertEquals(line.split(" ")[1], copy.exportPublic().split(" ")[1]);
            Path f = dir.resolve("k.pub");
            Files.writeString(f, line + "\n");
            fromFile.importFile(f.toString());
            assertEquals(line.split(" ")[1], fromFile.exportPublic().split(" ")[1]);
        }
    }

    @Test
    void externalKeyKeepsOnlyThePublicHalf() {
        try (SSHKey source = new SSHKey(); SSHKey k = new SSHKey(); SFTPServer s = new SFTPServer()) {
            source.generate("ssh-rsa", 2048);
            String line = source.exportPublic();
            SFTPKitException e = assertThrows(SFTPKitException.class, () -> k.importExternal(line, ""));
            assertEquals(1048580, e.getCode()); // an empty key id is an invalid value
            e = assertThrows(SFTPKitException.class, () -> k.importExternal("ssh-rsa AAAA", "x"));
            assertEquals(1048602, e.getCode());
            k.importExternal(line, "hsm-rsa");
            assertEquals(line.split(" ")[1], k.exportPublic().split(" ")[1]);
            s.setServerKeyCount(1);
            s.setServerKeyHandle(0, k.getHandle());
            assertEquals("ssh-rsa", s.getServerKeyAlgorithm(0));
            s.setExternalCryptoMode(ExternalCryptoMode.ecmDCAuth); // DCAuth is refused by name
            e = assertThrows(SFTPKitException.class, s::start);
            assertEquals(1048578, e.getCode());
            assertTrue(e.getMessage().contains("DCAuth"), e.getMessage());
        }
    }

    @Test
    void badInputIsAnSFTPKitException(@TempDir Path dir) {
        try (SSHKey k = new SSHKey()) {
            assertThrows(SFTPKitException.class, () -> k.generate("ssh-nonsense", 0));
            assertThrows(SFTPKitException.class, () -> k.importBytes(new byte[] {1, 2, 3}, ""));
            assertThrows(SFTPKitException.class, () -> k.importBytes(null));
            assertThrows(SFTPKitException.class, () -> k.importFile(dir.resolve("missing").toString(), null));
            assertThrows(SFTPKitException.class, k::exportPublic, "an empty key has no public line");
        }
    }
}
