package org.sftpkit;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;

/**
 * Loads the native libraries the jar carries, so {@code java -cp sftpkit.jar App} needs no
 * {@code -Djava.library.path}.
 *
 * <p>The jar holds {@code natives/<os>-<arch>/libsftpkit.so.1} (the C library) and
 * {@code libsftpkit_java.so} (the JNI glue, RUNPATH $ORIGIN). They are extracted into a fresh
 * private temporary directory, loaded with System.load (the C library first, so the glue's
 * dependency is already resolved), and deleted again: a loaded library stays mapped.
 *
 * <p>Overrides: {@code -Dorg.sftpkit.native.dir=DIR} loads the two files from DIR instead; when the
 * jar carries no natives for this platform, {@code System.loadLibrary("sftpkit_java")} is tried.
 */
final class NativeLoader {
    static final String[] LIBRARIES = {"libsftpkit.so.1", "libsftpkit_java.so"};

    private static boolean loaded;

    private NativeLoader() {
    }

    static synchronized void load() {
        if (loaded) {
            return;
        }
        String dir = System.getProperty("org.sftpkit.native.dir");
        if (dir != null && !dir.isEmpty()) {
            for (String lib : LIBRARIES) {
                System.load(Path.of(dir, lib).toAbsolutePath().toString());
            }
        } else {
            String platform = platform();
            String base = "/natives/" + platform + "/";
            if (NativeLoader.class.getResource(base + LIBRARIES[1]) != null) {
                extractAndLoad(base);
            } else {
                try {
                    System.loadLibrary("sftpkit_java");
                } catch (UnsatisfiedLinkError e) {
                    UnsatisfiedLinkError err = new UnsatisfiedLinkError("sftpkit: this jar carries no native libraries for "
                            + platform + " (looked for " + base + LIBRARIES[1] + ") and sftpkit_java is not on "
                            + "java.library.path; set -Dorg.sftpkit.native.dir=DIR to load them from DIR");
                    err.initCause(e);
                    throw err;
                }
            }
        }
        loaded = true;
    }

    /** "linux-x86_64", "linux-aarch64", ... */
    static String platform() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        if (os.startsWith("linux")) {
            os = "linux";
        } else if (os.startsWith("mac")) {
            os = "macos";
        } else if (os.startsWith("windows")) {
            os = "windows";
        }
        if (arch.equals("amd64") || arch.equals("x86_64")) {
            arch = "x86_64";
        } else if (arch.equals("arm64")) {
            arch = "aarch64";
        }
        return os + "-" + arch;
    }

    private static void extractAndLoad(String base) {
        Path tmp = null;
        try {
            tmp = Files.createTempDirectory("sftpkit-native-"); // owner-only permissions
            Path[] files = new Path[LIBRARIES.length];
            for (int i = 0; i < LIBRARIES.length; i++) {
                files[i] = tmp.resolve(LIBRARIES[i]);
                try (InputStream in = NativeLoader.class.getResourceAsStream(base + LIBRARIES[i])) {
                    if (in == null) {
                        throw new UnsatisfiedLinkError("sftpkit: the jar lacks " + base + LIBRARIES[i]);
                    }
                    Files.copy(in, files[i], StandardCopyOption.REPLACE_EXISTING);
                }
            }
            for (Path f : files) {
                System.load(f.toString());
            }
        } catch (IOException e) {
            UnsatisfiedLinkError err = new UnsatisfiedLinkError("sftpkit: cannot extract the native libraries: " + e);
            err.initCause(e);
            throw err;
        } finally {
            deleteQuietly(tmp);
        }
    }

    private static void deleteQuietly(Path dir) {
        if (dir == null) {
            return;
        }
        for (String lib : LIBRARIES) {
            try {
                Files.deleteIfExists(dir.resolve(lib));
            } catch (IOException e) {
                dir.resolve(lib).toFile().deleteOnExit();
            }
        }
        try {
            Files.deleteIfExists(dir);
        } catch (IOException e) {
            dir.toFile().deleteOnExit();
        }
    }
}
