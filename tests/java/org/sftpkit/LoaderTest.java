package org.sftpkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The jar alone: a fresh JVM with only sftpkit.jar (and a one-class app) on the class path and no
 * java.library.path loads the natives from the jar, and leaves no extracted files behind.
 */
class LoaderTest {
    @Test
    void theJarLoadsItsOwnNativesAndCleansUp(@TempDir Path dir) throws Exception {
        String jar = System.getProperty("sftpkit.jar");
        assertTrue(jar != null && new File(jar).isFile(), "-Dsftpkit.jar points at the jar: " + jar);
        Path app = dir.resolve("App.java");
        Files.writeString(app, "public class App { public static void main(String[] a) {"
                + " try (org.sftpkit.SFTPServer s = new org.sftpkit.SFTPServer()) {"
                + " System.out.println(org.sftpkit.SFTPKitInfo.libraryVersion() + \" \" + s.getPort()); } } }");
        Path tmp = Files.createDirectory(dir.resolve("tmp"));
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        // Single-file source launch: java App.java with the jar on the class path.
        Process p = new ProcessBuilder(java, "-Djava.io.tmpdir=" + tmp, "-cp", jar, app.toString())
                .redirectErrorStream(true).start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the child JVM finished");
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        assertEquals(0, p.exitValue(), out);
        assertEquals(SFTPKitInfo.BINDING_VERSION + " 22", out);
        try (Stream<Path> left = Files.list(tmp)) {
            assertEquals(List.of(), left.toList(), "extracted natives are deleted after loading");
        }
    }

    @Test
    void platformNamesFollowTheJarLayout() {
        String p = NativeLoader.platform();
        assertTrue(p.matches("[a-z]+-[a-z0-9_]+"), p);
        if (System.getProperty("os.arch").equals("amd64")) {
            assertEquals("linux-x86_64", p);
        }
    }
}
