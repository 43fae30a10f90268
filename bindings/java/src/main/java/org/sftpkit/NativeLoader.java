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
 * {@code libsftpkit_java.so} (the JNI glue, RUNPATH $ORIGIN). A release jar
 * (packaging/build_packages.py) also carries the libraries they need beyond glibc (libssh,
 * libcrypto, zlib, Kerberos; all RUNPATH $ORIGIN) and {@code natives.list}, every file in load
 * order, dependencies first. They are extracted into a fresh private temporary directory, loaded
 * with System.load in that order, and deleted again: a loaded library stays mapped.
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
                            + platform + " (release jars carry linux-x86_64 and linux-aarch64; looked for " + base + LIBRARIES[1]
                            + ") and sftpkit_java is not on java.library.path (" + e.getMessage()
                            + "); set -Dorg.sftpkit.native.dir=DIR to load them from DIR");
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

    /** natives.list of a release jar (load order), else the two libraries of a development jar. */
    private static String[] libraryList(String base) throws IOException {
        try (InputStream in = NativeLoader.class.getResourceAsStream(base + "natives.list")) {
            if (in == null) {
                return LIBRARIES;
            }
            return new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).lines()
                    .map(String::trim).filter(l -> !l.isEmpty()).toArray(String[]::new);
        }
    }

    private static void extractAndLoad(String base) {
        Path tmp = null;
        String[] libraries = LIBRARIES;
        try {
            libraries = libraryList(base);
            tmp = Files.createTempDirectory("sftpkit-native-"); // owner-only permissions
            Path[] files = new Path[libraries.length];
            for (int i = 0; i < libraries.length; i++) {
                files[i] = tmp.resolve(libraries[i]);
                try (InputStream in = NativeLoader.class.getResourceAsStream(base + libraries[i])) {
                    if (in == null) {
                        throw new UnsatisfiedLinkError("sftpkit: the jar lacks " + base + libraries[i]);
                    }
                    Files.copy(in, files[i], StandardCopyOption.REPLACE_EXISTING);
                }
            }
            for (Path f : files) {
                try {
                    System.load(f.toString());
                } catch (UnsatisfiedLinkError e) {
                    throw loadFailure(base, f.getFileName().toString(), libraries.length > LIBRARIES.length, e);
                }
            }
        } catch (IOException e) {
            UnsatisfiedLinkError err = new UnsatisfiedLinkError("sftpkit: cannot extract the native libraries for "
                    + platform() + " into a temporary directory (java.io.tmpdir=" + System.getProperty("java.io.tmpdir")
                    + "; it must allow executable mappings): " + e);
            err.initCause(e);
            throw err;
        } finally {
            deleteQuietly(tmp, libraries);
        }
    }

    /** Names the platform, the library and what the dynamic linker missed, and what to do about it. */
    private static UnsatisfiedLinkError loadFailure(String base, String lib, boolean selfContained, UnsatisfiedLinkError e) {
        String hint = selfContained
                ? "this jar bundles libssh, OpenSSL and zlib for " + platform() + " and needs only glibc (see "
                        + base + "natives.json for the minimum glibc version): the system's C library is older or not glibc"
                : "this development jar uses the system's libssh 0.10 and libcrypto 3 (Debian: apt-get install libssh-4); "
                        + "the release jar (make packages) bundles them";
        UnsatisfiedLinkError err = new UnsatisfiedLinkError("sftpkit: cannot load " + lib + " for " + platform() + " ("
                + System.getProperty("os.name") + "/" + System.getProperty("os.arch") + "): " + e.getMessage() + "; " + hint);
        err.initCause(e);
        return err;
    }

    private static void deleteQuietly(Path dir, String[] libraries) {
        if (dir == null) {
            return;
        }
        for (String lib : libraries) {
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
