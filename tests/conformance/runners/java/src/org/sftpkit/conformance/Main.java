package org.sftpkit.conformance;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The Java conformance runner (tests/conformance/FORMAT.md): every case of cases/*.json in file
 * order, one PASS/FAIL line each, then exactly "java: N passed, N failed". Exit 1 if any failed.
 *
 * <p>usage: java -cp sftpkit.jar:classes org.sftpkit.conformance.Main SUITE_DIR [FILTER]
 */
public final class Main {
    static final long CASE_LIMIT_MS = 60_000;

    private Main() {
    }

    public static void main(String[] args) throws Exception {
        Path suite = Path.of(args.length > 0 ? args[0] : "tests/conformance").toAbsolutePath().normalize();
        String filter = args.length > 1 && !args[1].isEmpty() ? args[1]
                : System.getenv().getOrDefault("SFTPKIT_CONFORMANCE_FILTER", "");
        int passed = 0;
        int failed = 0;
        int[][] byKind = new int[2][2]; // [behaviour?][failed?]
        List<Map<String, Object>> cases = new ArrayList<>();
        String loadError = null;
        Spec spec = null;
        try {
            spec = Spec.load(suite.resolve("../../spec/sftpserver.json"));
            cases = loadCases(suite.resolve("cases"));
        } catch (Exception e) {
            loadError = e.toString();
        }
        if (loadError != null) {
            System.out.println("FAIL java-runner-load: " + loadError);
            failed++;
        }
        for (Map<String, Object> c : cases) {
            String name = String.valueOf(c.get("name"));
            if (!name.contains(filter)) {
                continue;
            }
            String reason = runWithLimit(c, suite, spec);
            byKind[isBehaviour(c) ? 1 : 0][reason == null ? 0 : 1]++;
            if (reason == null) {
                System.out.println("PASS " + name);
                passed++;
            } else {
                String[] lines = reason.split("\n");
                System.out.println("FAIL " + name + ": " + lines[0]);
                for (int i = 1; i < lines.length; i++) {
                    System.out.println("  " + lines[i]);
                }
                failed++;
            }
            System.out.flush();
        }
        System.out.println("java by kind: behaviour " + byKind[1][0] + " passed, " + byKind[1][1] + " failed; storage "
                + byKind[0][0] + " passed, " + byKind[0][1] + " failed");
        System.out.println("java: " + passed + " passed, " + failed + " failed");
        System.out.flush();
        // Stuck cases may leave non-daemon threads behind; the verdict is final.
        Runtime.getRuntime().halt(failed == 0 ? 0 : 1);
    }

    /** FORMAT.md "Kinds": behaviour when a step runs the client driver (a real connection). */
    static boolean isBehaviour(Map<String, Object> c) {
        if (!(c.get("steps") instanceof List<?> steps)) {
            return false;
        }
        return steps.stream().anyMatch(s -> s instanceof Map<?, ?> m && m.containsKey("client"));
    }

    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> loadCases(Path dir) throws Exception {
        List<Map<String, Object>> out = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return out;
        }
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(p -> p.toString().endsWith(".json")).sorted().toList();
        }
        for (Path f : files) {
            Object doc;
            try {
                doc = Json.parse(Files.readString(f, StandardCharsets.UTF_8));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(f.getFileName() + ": " + e.getMessage(), e);
            }
            for (Object c : (List<Object>) ((Map<String, Object>) doc).get("cases")) {
                out.add((Map<String, Object>) c);
            }
        }
        return out;
    }

    /** Runs one case on its own thread; a case over the limit fails and is abandoned. */
    static String runWithLimit(Map<String, Object> c, Path suite, Spec spec) throws InterruptedException {
        String[] result = new String[1];
        Case k = new Case(c, suite, spec);
        Thread t = new Thread(() -> result[0] = k.run(), "case " + c.get("name"));
        t.setDaemon(true);
        t.start();
        t.join(CASE_LIMIT_MS);
        if (t.isAlive()) {
            k.abandon();
            t.join(TimeUnit.SECONDS.toMillis(5));
            return "timed out after " + CASE_LIMIT_MS / 1000 + " s";
        }
        return result[0];
    }
}
