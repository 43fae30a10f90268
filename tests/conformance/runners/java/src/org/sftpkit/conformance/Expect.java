package org.sftpkit.conformance;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/** The case's "expect": checked after teardown, every event delivered (FORMAT.md). */
final class Expect {
    private static final Set<String> MEMBERS = Set.of("events", "events_absent", "event_counts", "files", "vfs", "vars",
            "provider", "provider_sessions", "vfs_cancelled_at_least");

    private Expect() {
    }

    static void check(Map<String, Object> expect, Case k) throws IOException {
        for (String m : expect.keySet()) {
            if (!MEMBERS.contains(m)) {
                throw new CaseError("unknown expect member \"" + m + "\"");
            }
        }
        List<Case.EventRecord> records = k.records();
        if (expect.containsKey("events")) {
            events(Case.list(expect.get("events"), "expect.events"), records, k);
        }
        if (expect.containsKey("events_absent")) {
            for (Object o : Case.list(expect.get("events_absent"), "expect.events_absent")) {
                Map<String, Object> want = Case.map(o, "expect.events_absent item");
                String name = name(want, k);
                Map<String, Object> params = Case.map(want.getOrDefault("params", Map.of()), "params");
                for (Case.EventRecord r : records) {
                    if (k.eventMatches(r, name, params)) {
                        throw new CaseError("expect.events_absent: " + name + " " + Json.write(params)
                                + " occurred: " + Json.write(r.params()));
                    }
                }
            }
        }
        if (expect.containsKey("event_counts")) {
            for (Map.Entry<String, Object> e : Case.map(expect.get("event_counts"), "expect.event_counts").entrySet()) {
                if (!k.hasEvent(e.getKey())) {
                    throw new CaseError("expect.event_counts: unknown event " + e.getKey());
                }
                long n = records.stream().filter(r -> r.event().equals(e.getKey())).count();
                if (!Values.matches(e.getValue(), n, k)) {
                    throw new CaseError("expect.event_counts: " + e.getKey() + " occurred " + n + " times, expected "
                            + Json.write(e.getValue()));
                }
            }
        }
        if (expect.containsKey("files")) {
            files(Case.map(expect.get("files"), "expect.files"), k);
        }
        if (expect.containsKey("provider") || expect.containsKey("provider_sessions")) {
            if (k.provider() == null) {
                throw new CaseError("expect.provider* without a provider behaviour");
            }
        }
        if (expect.containsKey("provider")) {
            Provider.Tree t = k.provider().tree();
            synchronized (t) {
                tree(Case.map(expect.get("provider"), "expect.provider"), new TreeMap<>(t.files), new TreeSet<>(t.dirs),
                        "expect.provider", k);
            }
        }
        if (expect.containsKey("provider_sessions")) {
            List<Object> want = Case.list(expect.get("provider_sessions"), "expect.provider_sessions");
            List<Map<String, Object>> have = k.provider().sessions();
            if (want.size() != have.size()) {
                throw new CaseError("expect.provider_sessions: " + have.size() + " factory calls, expected " + want.size()
                        + ": " + Json.write(have));
            }
            for (int i = 0; i < want.size(); i++) {
                for (Map.Entry<String, Object> f : Case.map(want.get(i), "provider session").entrySet()) {
                    if (!have.get(i).containsKey(f.getKey()) || !Values.matches(f.getValue(), have.get(i).get(f.getKey()), k)) {
                        throw new CaseError("expect.provider_sessions[" + i + "]." + f.getKey() + ": got "
                                + Values.show(have.get(i).get(f.getKey())) + ", expected " + Json.write(f.getValue()));
                    }
                }
            }
        }
        if (expect.containsKey("vfs")) {
            vfs(Case.map(expect.get("vfs"), "expect.vfs"), k);
        }
        if (expect.containsKey("vfs_cancelled_at_least")) {
            Vfs v = k.vfs();
            if (v == null || !(expect.get("vfs_cancelled_at_least") instanceof Number)) {
                throw new CaseError("expect.vfs_cancelled_at_least needs a vfs behaviour and a number");
            }
            long want = ((Number) expect.get("vfs_cancelled_at_least")).longValue();
            int got = v.cancelledAtLeast(want, 5000);
            if (got < want) {
                throw new CaseError("expect.vfs_cancelled_at_least: " + got + " deferred requests were cancelled, expected at least " + want);
            }
        }
        if (expect.containsKey("vars")) {
            for (Map.Entry<String, Object> e : Case.map(expect.get("vars"), "expect.vars").entrySet()) {
                Object v = k.vars().get(e.getKey());
                if (v == null) {
                    throw new CaseError("expect.vars: " + e.getKey() + " was never saved");
                }
                if (!Values.matches(e.getValue(), v, k)) {
                    throw new CaseError("expect.vars: " + e.getKey() + " = " + Values.show(v) + ", expected "
                            + Json.write(e.getValue()));
                }
            }
        }
    }

    private static String name(Map<String, Object> want, Case k) {
        String name = (String) want.get("event");
        if (!k.hasEvent(name)) {
            throw new CaseError("expect: unknown event " + name);
        }
        return name;
    }

    /** An ordered subsequence of the record. */
    private static void events(List<Object> wanted, List<Case.EventRecord> records, Case k) {
        int at = 0;
        for (int i = 0; i < wanted.size(); i++) {
            Map<String, Object> want = Case.map(wanted.get(i), "expect.events item");
            String name = name(want, k);
            Map<String, Object> params = Case.map(want.getOrDefault("params", Map.of()), "params");
            boolean found = false;
            while (at < records.size()) {
                if (k.eventMatches(records.get(at++), name, params)) {
                    found = true;
                    break;
                }
            }
            if (!found) {
                StringBuilder seen = new StringBuilder();
                for (Case.EventRecord r : records) {
                    if (r.event().equals(name)) {
                        seen.append("\n").append(name).append(" ").append(Json.write(r.params()));
                    }
                }
                throw new CaseError("expect.events[" + i + "]: " + name + " " + Json.write(params)
                        + " not found in order" + (seen.length() == 0 ? " (the event never occurred)" : "; seen:" + seen));
            }
        }
    }

    private static void files(Map<String, Object> files, Case k) throws IOException {
        for (Map.Entry<String, Object> e : files.entrySet()) {
            Path p = k.root().resolve(e.getKey());
            Object want = e.getValue();
            String where = "expect.files " + e.getKey();
            if (want == Json.NULL) {
                if (Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                    throw new CaseError(where + ": exists, expected absent");
                }
            } else if (want instanceof Map && ((Map<?, ?>) want).containsKey("dir")) {
                if (!Files.isDirectory(p)) {
                    throw new CaseError(where + ": not a directory");
                }
            } else if (want instanceof Map && ((Map<?, ?>) want).containsKey("size")) {
                if (!Files.isRegularFile(p)) {
                    throw new CaseError(where + ": not a file");
                }
                long size = Files.size(p);
                if (!Values.matches(((Map<?, ?>) want).get("size"), size, k)) {
                    throw new CaseError(where + ": size " + size + ", expected " + Json.write(want));
                }
            } else {
                if (!Files.isRegularFile(p)) {
                    throw new CaseError(where + ": missing");
                }
                byte[] have = Files.readAllBytes(p);
                byte[] exp = Vfs.bytes(Values.eval(want, k));
                if (!Case.sameBytes(have, exp)) {
                    throw new CaseError(where + ": content " + Values.show(have) + ", expected " + Values.show(exp));
                }
            }
        }
    }

    private static void vfs(Map<String, Object> want, Case k) {
        Vfs v = k.vfs();
        if (v == null) {
            throw new CaseError("expect.vfs without a vfs behaviour");
        }
        tree(want, v.snapshotFiles(), v.snapshotDirs(), "expect.vfs", k);
    }

    private static void tree(Map<String, Object> want, Map<String, byte[]> have, Set<String> haveDirs, String what, Case k) {
        Map<String, Object> wantFiles = Case.map(want.getOrDefault("files", Map.of()), what + ".files");
        Set<String> wantNames = new TreeSet<>();
        for (Map.Entry<String, Object> f : wantFiles.entrySet()) {
            String path = Vfs.norm(f.getKey());
            wantNames.add(path);
            byte[] exp = Vfs.bytes(Values.eval(f.getValue(), k));
            if (!have.containsKey(path)) {
                throw new CaseError(what + ": file " + path + " missing; files are " + have.keySet());
            }
            if (!Case.sameBytes(have.get(path), exp)) {
                throw new CaseError(what + ": " + path + " holds " + Values.show(have.get(path)) + ", expected "
                        + Values.show(exp));
            }
        }
        if (!wantNames.equals(have.keySet())) {
            throw new CaseError(what + ": files are " + have.keySet() + ", expected " + wantNames);
        }
        Set<String> wantDirs = new TreeSet<>(Case.setOf(Case.list(want.getOrDefault("dirs", List.of()), what + ".dirs")));
        wantDirs.add("/");
        if (!wantDirs.equals(haveDirs)) {
            throw new CaseError(what + ": dirs are " + haveDirs + ", expected " + wantDirs);
        }
    }
}
