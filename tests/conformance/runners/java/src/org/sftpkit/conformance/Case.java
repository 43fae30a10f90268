package org.sftpkit.conformance;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.reflect.Proxy;
import java.nio.ByteBuffer;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.sftpkit.AsyncHandler;
import org.sftpkit.SFTPKitEvent;
import org.sftpkit.SFTPServer;
import org.sftpkit.SSHKey;

/** One case: fixture, recorder and behaviours, steps, teardown, expectations (FORMAT.md's order). */
final class Case implements Values.Scope {
    private static final Set<String> MEMBERS = Set.of("name", "doc", "server", "fixture", "handlers", "listing", "vfs",
            "external_signer", "steps", "expect", "unsubscribed", "provider");

    /** One event as received; done once its handler (behaviours and rules) has finished. */
    static final class EventRecord {
        private final String event;
        private final Map<String, Object> params;
        private boolean done; // guarded by the records list

        EventRecord(String event, Map<String, Object> params) {
            this.event = event;
            this.params = params;
        }

        String event() {
            return event;
        }

        Map<String, Object> params() {
            return params;
        }
    }

    private final Map<String, Object> c;
    private final Path suite;
    private final Spec spec;
    private final Map<String, Object> vars = new ConcurrentHashMap<>();
    private final Map<String, SSHKey> keys = new LinkedHashMap<>(); // guarded by itself
    private final List<SSHKey> fixtureKeys = new ArrayList<>();
    private final List<EventRecord> records = new ArrayList<>(); // guarded by itself
    private final List<String> handlerFailures = new ArrayList<>(); // guarded by itself
    private final List<Thread> background = new ArrayList<>();
    private final List<String> backgroundErrors = new ArrayList<>(); // guarded by itself
    private final List<Process> clients = new ArrayList<>(); // guarded by itself
    private final Object entryLock = new Object();
    private SFTPServer server;
    private Path root;
    private int port;
    private Vfs vfs;
    private Provider provider;
    private Listing listing;
    private ExternalSigner externalSigner;
    private final List<Rule> rules = new ArrayList<>();
    private final ThreadLocal<Map<String, Object>> currentParams = new ThreadLocal<>();

    Case(Map<String, Object> c, Path suite, Spec spec) {
        this.c = c;
        this.suite = suite;
        this.spec = spec;
    }

    SFTPServer server() {
        return server;
    }

    // ---- Scope ---------------------------------------------------------------------------------------

    @Override
    public Object var(String name) {
        Object v = vars.get(name);
        if (v != null) {
            return v;
        }
        synchronized (keys) {
            SSHKey k = keys.get(name);
            if (k != null) {
                return k.getHandle();
            }
        }
        throw new CaseError("variable " + name + " was never set");
    }

    @Override
    public Object param(String name) {
        Map<String, Object> p = currentParams.get();
        return p == null ? null : p.get(name);
    }

    @Override
    public Path suite() {
        return suite;
    }

    // ---- the case ------------------------------------------------------------------------------------

    /** Runs the case; null when it passed, else the reason. */
    String run() {
        String failure = null;
        try {
            for (String k : c.keySet()) {
                if (!MEMBERS.contains(k)) {
                    throw new CaseError("unknown case member \"" + k + "\"");
                }
            }
            root = Files.createTempDirectory("sftpkit-conf-java-");
            vars.put("root", root.toString());
            vars.put("host", "127.0.0.1");
            server = new SFTPServer();
            if (Boolean.TRUE.equals(c.get("server"))) {
                fixture(map(c.getOrDefault("fixture", Map.of()), "fixture"));
            }
            install();
            for (Object step : list(c.getOrDefault("steps", List.of()), "steps")) {
                topStep(map(step, "step"));
            }
        } catch (CaseError e) {
            failure = e.getMessage();
        } catch (Throwable e) {
            Integer code = Api.code(e);
            failure = code != null ? "setting up the case: error " + code + ": " + e.getMessage() : "unexpected " + e;
        }
        String teardown = teardown();
        if (failure == null) {
            failure = teardown;
        }
        if (failure == null) {
            synchronized (handlerFailures) {
                if (!handlerFailures.isEmpty()) {
                    failure = "handler failed: " + String.join("\n", handlerFailures);
                }
            }
        }
        if (failure == null) {
            try {
                Expect.check(map(c.getOrDefault("expect", Map.of()), "expect"), this);
            } catch (CaseError e) {
                failure = e.getMessage();
            } catch (Throwable e) {
                failure = "unexpected " + e;
            }
        }
        deleteRoot();
        return failure;
    }

    /** The case ran out of time: stop whatever still runs (best effort, from the main thread). */
    void abandon() {
        synchronized (clients) {
            for (Process p : clients) {
                p.destroyForcibly();
            }
        }
        Thread t = new Thread(() -> {
            try {
                if (server != null) {
                    server.close();
                }
            } catch (Throwable ignored) {
                // abandoned
            }
        }, "abandon");
        t.setDaemon(true);
        t.start();
    }

    private String teardown() {
        String failure = null;
        try {
            if (server != null && !server.isClosed() && server.getActive()) {
                server.stop();
            }
        } catch (Throwable e) {
            failure = "stop at teardown failed: " + e;
        }
        String bg = waitBackground();
        if (failure == null) {
            failure = bg;
        }
        try {
            if (server != null) {
                server.close();
            }
        } catch (Throwable e) {
            failure = failure == null ? "closing the server failed: " + e : failure;
        }
        synchronized (keys) {
            keys.values().forEach(SSHKey::close);
        }
        fixtureKeys.forEach(SSHKey::close);
        return failure;
    }

    private void deleteRoot() {
        if (root == null) {
            return;
        }
        try (Stream<Path> s = Files.walk(root)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // a temp dir left behind is not a failure of the case
        }
    }

    // ---- fixture -------------------------------------------------------------------------------------

    @SuppressWarnings("unchecked")
    private void fixture(Map<String, Object> f) throws IOException {
        for (String k : f.keySet()) {
            if (!Set.of("host_key", "root", "base_dir").contains(k)) {
                throw new CaseError("unknown fixture member \"" + k + "\"");
            }
        }
        Object hk = f.containsKey("host_key") ? f.get("host_key") : Map.of();
        if (hk != Json.NULL) {
            Map<String, Object> h = map(hk, "fixture.host_key");
            SSHKey key = new SSHKey();
            fixtureKeys.add(key);
            key.generate((String) h.getOrDefault("algorithm", "ssh-ed25519"), (int) (long) (Long) h.getOrDefault("bits", 0L));
            server.setServerKeyCount(1);
            server.setServerKeyHandle(0, key.getHandle());
        }
        server.setHost("127.0.0.1");
        port = freePort();
        vars.put("port", (long) port);
        server.setPort(port);
        Map<String, Object> r = map(f.getOrDefault("root", Map.of()), "fixture.root");
        for (Map.Entry<String, Object> file : map(r.getOrDefault("files", Map.of()), "fixture.root.files").entrySet()) {
            Path p = root.resolve(file.getKey());
            Files.createDirectories(p.getParent());
            Files.write(p, Vfs.bytes(Values.eval(file.getValue(), this)));
        }
        for (Object d : list(r.getOrDefault("dirs", List.of()), "fixture.root.dirs")) {
            Files.createDirectories(root.resolve((String) d));
        }
        if (!Boolean.FALSE.equals(f.get("base_dir"))) {
            server.setBaseDir(root.toString());
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            return s.getLocalPort();
        }
    }

    // ---- recorder, behaviours, rules -----------------------------------------------------------------

    private final class Rule {
        final String event;
        final Map<String, Object> when;
        final Map<String, Object> set;
        final Map<String, Object> save;
        final List<Object> calls;
        final boolean once;
        final long sleepMs; // a slow handler (a database lookup)
        final AtomicBoolean used = new AtomicBoolean();

        Rule(Map<String, Object> r) {
            for (String k : r.keySet()) {
                if (!Set.of("event", "when", "set", "save", "calls", "once", "sleep_ms").contains(k)) {
                    throw new CaseError("unknown handler rule member \"" + k + "\"");
                }
            }
            event = (String) r.get("event");
            if (!spec.events.containsKey(event)) {
                throw new CaseError("handler rule for unknown event " + event);
            }
            when = map(r.getOrDefault("when", Map.of()), "when");
            set = map(r.getOrDefault("set", Map.of()), "set");
            save = map(r.getOrDefault("save", Map.of()), "save");
            calls = list(r.getOrDefault("calls", List.of()), "calls");
            once = Boolean.TRUE.equals(r.get("once"));
            sleepMs = r.get("sleep_ms") instanceof Number n ? n.longValue() : 0;
        }

        boolean applies(String name, Map<String, Object> params) {
            if (!event.equals(name)) {
                return false;
            }
            for (Map.Entry<String, Object> w : when.entrySet()) {
                if (!params.containsKey(w.getKey())) {
                    throw new CaseError(name + " has no parameter " + w.getKey());
                }
                if (!Values.matches(w.getValue(), params.get(w.getKey()), Case.this)) {
                    return false;
                }
            }
            return !once || used.compareAndSet(false, true);
        }

        void apply(SFTPKitEvent e, Map<String, Object> params) {
            if (sleepMs > 0) {
                try {
                    Thread.sleep(sleepMs);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                }
            }
            for (Object call : calls) {
                apiStep(map(call, "rule call"));
            }
            for (Map.Entry<String, Object> s : set.entrySet()) {
                EventAccess.set(e, s.getKey(), Values.eval(s.getValue(), Case.this));
            }
            for (Map.Entry<String, Object> s : save.entrySet()) {
                String param = (String) s.getValue();
                if (!params.containsKey(param)) {
                    throw new CaseError(event + " has no parameter " + param + " to save");
                }
                vars.put(s.getKey(), params.get(param));
            }
        }
    }

    private void install() {
        for (Object r : list(c.getOrDefault("handlers", List.of()), "handlers")) {
            rules.add(new Rule(map(r, "handler rule")));
        }
        if (c.containsKey("vfs")) {
            vfs = new Vfs(map(c.get("vfs"), "vfs"), this);
        }
        if (c.containsKey("provider")) { // the binding's provider layer; the rules below run before it
            provider = new Provider(map(c.get("provider"), "provider"), this);
            if (provider.async) {
                server.setAsyncFileSystem(provider.asyncFactory());
            } else {
                server.setFileSystem(provider.factory());
            }
        }
        if (c.containsKey("listing")) {
            listing = new Listing(map(c.get("listing"), "listing"), this);
        }
        if (c.containsKey("external_signer")) {
            externalSigner = new ExternalSigner(map(c.get("external_signer"), "external_signer"), this);
        }
        // Every event, in the lambda form (setOnX with the per-event functional interface).
        List<Object> unsubscribed = list(c.getOrDefault("unsubscribed", List.of()), "unsubscribed");
        for (Object u : unsubscribed) {
            if (!spec.events.containsKey(u)) {
                throw new CaseError("unsubscribed: unknown event " + u);
            }
        }
        for (Spec.Event ev : spec.events.values()) {
            if (unsubscribed.contains(ev.name())) {
                continue; // no handler: the binding tells the core so
            }
            if (vfs != null && vfs.async && (ev.name().equals("on_read_file") || ev.name().equals("on_write_file"))) {
                installAsync(ev); // FORMAT.md vfs "async": the CompletionStage form
                continue;
            }
            Class<?> type;
            try {
                type = Class.forName("org.sftpkit." + ev.shortPascal() + "Handler");
                Object handler = Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {type},
                        (proxy, method, args) -> {
                            switch (method.getName()) {
                                case "handle":
                                    onEvent(ev, (SFTPKitEvent) args[0]);
                                    return null;
                                case "hashCode":
                                    return System.identityHashCode(proxy);
                                case "equals":
                                    return proxy == args[0];
                                default:
                                    return "handler of " + ev.name();
                            }
                        });
                SFTPServer.class.getMethod("setOn" + ev.shortPascal(), type).invoke(server, handler);
            } catch (ReflectiveOperationException e) {
                throw new CaseError("cannot install a handler for " + ev.name() + ": " + e);
            }
        }
    }

    /** setOnReadFileAsync / setOnWriteFileAsync: the event is recorded and its rules run as for
     * every event; the vfs answers through the stage it returns. */
    private void installAsync(Spec.Event ev) {
        AsyncHandler<SFTPKitEvent, ByteBuffer> h = e -> {
            AtomicReference<CompletionStage<ByteBuffer>> stage = new AtomicReference<>();
            onEvent(ev, e, () -> stage.set(vfs.handleAsync(e, currentParams.get())));
            if (stage.get() == null) {
                throw new IllegalStateException(ev.name() + ": the vfs gave no stage (see the handler failures)");
            }
            return stage.get();
        };
        try {
            SFTPServer.class.getMethod("setOn" + ev.shortPascal() + "Async", AsyncHandler.class).invoke(server, h);
        } catch (ReflectiveOperationException e) {
            throw new CaseError("cannot install an async handler for " + ev.name() + ": " + e);
        }
    }

    /** Runs on a server thread for every event. */
    private void onEvent(Spec.Event ev, SFTPKitEvent e) {
        onEvent(ev, e, () -> vfs.handle(e, currentParams.get()));
    }

    private void onEvent(Spec.Event ev, SFTPKitEvent e, Runnable vfsPart) {
        Map<String, Object> params = new LinkedHashMap<>();
        try {
            for (Spec.Param p : ev.params()) {
                params.put(p.name(), EventAccess.get(e, p.name()));
            }
        } catch (Throwable t) {
            failHandler(ev.name() + ": reading parameters: " + t);
            return;
        }
        EventRecord record = new EventRecord(ev.name(), params);
        synchronized (records) {
            records.add(record);
        }
        currentParams.set(params);
        try {
            if (vfs != null) {
                guarded(ev.name() + " (vfs)", vfsPart);
            }
            if (listing != null) {
                guarded(ev.name() + " (listing)", () -> listing.handle(e, params));
            }
            if (externalSigner != null) {
                guarded(ev.name() + " (external_signer)", () -> externalSigner.handle(e, params));
            }
            for (Rule r : rules) {
                guarded(ev.name() + " rule", () -> {
                    if (r.applies(ev.name(), params)) {
                        r.apply(e, params);
                    }
                });
            }
        } finally {
            currentParams.remove();
            synchronized (records) {
                record.done = true; // wait_event sees it only now (its rules' saves are in place)
                records.notifyAll();
            }
        }
    }

    private void guarded(String what, Runnable r) {
        try {
            r.run();
        } catch (CaseError e) {
            failHandler(what + ": " + e.getMessage());
        } catch (Throwable t) {
            failHandler(what + ": " + t);
        }
    }

    private void failHandler(String msg) {
        synchronized (handlerFailures) {
            handlerFailures.add(msg);
        }
    }

    /** Fills client_file_entry_* and commits them (server-wide properties: one writer at a time). */
    void commitEntry(long connectionId, String handle, Map<String, Object> fields) {
        synchronized (entryLock) {
            for (Map.Entry<String, Object> f : fields.entrySet()) {
                Api.setProperty(server, "client_file_entry_" + f.getKey(), null, f.getValue());
            }
            server.setClientFileEntry(connectionId, handle);
        }
    }

    // ---- steps ---------------------------------------------------------------------------------------

    private static String kindOf(Map<String, Object> step) {
        if (step.isEmpty()) {
            throw new CaseError("empty step");
        }
        return step.keySet().iterator().next();
    }

    private void topStep(Map<String, Object> step) throws Exception {
        String kind = kindOf(step);
        switch (kind) {
            case "client": {
                List<Object> script = list(step.get("client"), "client script");
                if (Boolean.TRUE.equals(step.get("background"))) {
                    Map<String, Object> doc = clientDoc(script); // vars as of now
                    Thread t = new Thread(() -> {
                        String err = runClient(doc);
                        if (err != null) {
                            synchronized (backgroundErrors) {
                                backgroundErrors.add(err);
                            }
                        }
                    }, "background client");
                    t.setDaemon(true);
                    synchronized (background) {
                        background.add(t);
                    }
                    t.start();
                } else {
                    String err = runClient(clientDoc(script));
                    if (err != null) {
                        throw new CaseError(err);
                    }
                }
                break;
            }
            case "wait_client": {
                String err = waitBackground();
                if (err != null) {
                    throw new CaseError(err);
                }
                break;
            }
            case "wait_event": {
                String name = (String) step.get("wait_event");
                Map<String, Object> params = map(step.getOrDefault("params", Map.of()), "wait_event params");
                long timeout = (Long) step.getOrDefault("timeout_ms", 5000L);
                long count = (Long) step.getOrDefault("count", 1L);
                if (!waitEvent(name, params, count, timeout)) {
                    throw new CaseError("wait_event " + name + " " + Json.write(params) + ": " + count
                            + (count == 1 ? " event" : " events") + " not seen within " + timeout + " ms");
                }
                break;
            }
            case "refused_handler_forms":
                RefusedForms.check(server, vfs, provider != null);
                break;
            default:
                apiStep(step);
        }
    }

    /** set / get / call / key, with expect, save and error (top level or inside a handler rule). */
    private void apiStep(Map<String, Object> step) {
        String kind = kindOf(step);
        String what = kind + " " + step.get(kind);
        Object result;
        try {
            switch (kind) {
                case "set": {
                    Long index = step.containsKey("index") ? (Long) Values.eval(step.get("index"), this) : null;
                    if (!step.containsKey("value")) {
                        throw new CaseError(what + ": no value");
                    }
                    Api.setProperty(server, (String) step.get("set"), index, Values.eval(step.get("value"), this));
                    result = null;
                    break;
                }
                case "get": {
                    Long index = step.containsKey("index") ? (Long) Values.eval(step.get("index"), this) : null;
                    result = Api.getProperty(server, (String) step.get("get"), index);
                    break;
                }
                case "call":
                    result = Api.call(server, (String) step.get("call"), evalAll(step.get("args")));
                    break;
                case "key": {
                    SSHKey k;
                    synchronized (keys) {
                        k = keys.computeIfAbsent((String) step.get("key"), n -> new SSHKey());
                    }
                    result = Api.key(k, (String) step.get("op"), evalAll(step.get("args")));
                    what = "key " + step.get("key") + " " + step.get("op");
                    break;
                }
                default:
                    throw new CaseError("unknown step \"" + kind + "\"");
            }
        } catch (CaseError e) {
            throw e;
        } catch (RuntimeException e) {
            Integer code = Api.code(e);
            if (code == null) {
                throw new CaseError(what + ": " + e);
            }
            if (step.containsKey("error")) {
                long want = (Long) Values.eval(step.get("error"), this);
                if (code != want) {
                    throw new CaseError(what + ": expected error " + want + ", got " + code + " (" + e.getMessage() + ")");
                }
                return;
            }
            throw new CaseError(what + ": error " + code + ": " + e.getMessage());
        }
        if (step.containsKey("error")) {
            throw new CaseError(what + ": expected error " + step.get("error") + ", but the call succeeded"
                    + (result != null ? " with " + Values.show(result) : ""));
        }
        if (step.containsKey("expect") && !Values.matches(step.get("expect"), result, this)) {
            throw new CaseError(what + ": expected " + Json.write(step.get("expect")) + ", got " + Values.show(result));
        }
        if (step.containsKey("save")) {
            vars.put((String) step.get("save"), result == null ? Json.NULL : result);
        }
    }

    private List<Object> evalAll(Object args) {
        List<Object> out = new ArrayList<>();
        for (Object a : list(args == null ? List.of() : args, "args")) {
            out.add(Values.eval(a, this));
        }
        return out;
    }

    // ---- the client driver ---------------------------------------------------------------------------

    private Map<String, Object> clientDoc(List<Object> script) {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("host", "127.0.0.1");
        doc.put("port", (long) port);
        doc.put("base", suite.toString());
        doc.put("vars", new LinkedHashMap<>(vars));
        doc.put("script", script);
        return doc;
    }

    /** Runs client/driver.py; null when it reported ok, else the error for the FAIL line. */
    private String runClient(Map<String, Object> doc) {
        ProcessBuilder pb = new ProcessBuilder("/usr/bin/python3", suite.resolve("client/driver.py").toString());
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            return "cannot start the client driver: " + e.getMessage();
        }
        synchronized (clients) {
            clients.add(p);
        }
        byte[][] err = new byte[1][];
        Thread errReader = new Thread(() -> err[0] = readAll(p.getErrorStream()));
        errReader.setDaemon(true);
        errReader.start();
        try (OutputStream in = p.getOutputStream()) {
            in.write(Json.write(doc).getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            // the driver died early; its output says why
        }
        String out = new String(readAll(p.getInputStream()), StandardCharsets.UTF_8);
        try {
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return "client driver timed out";
            }
            errReader.join(5000);
        } catch (InterruptedException e) {
            p.destroyForcibly();
            return "interrupted while the client ran";
        }
        String[] lines = out.strip().split("\n");
        String last = lines[lines.length - 1];
        try {
            @SuppressWarnings("unchecked")
            Map<String, Object> r = (Map<String, Object>) Json.parse(last);
            if (Boolean.TRUE.equals(r.get("ok")) && p.exitValue() == 0) {
                return null;
            }
            if (r.get("error") instanceof String) {
                return "client: " + r.get("error");
            }
        } catch (RuntimeException e) {
            // not the driver's JSON line: report what there is
        }
        String stderr = err[0] == null ? "" : new String(err[0], StandardCharsets.UTF_8).strip();
        String[] el = stderr.split("\n");
        return "client driver exit " + p.exitValue() + ": " + last + (stderr.isEmpty() ? "" : " " + el[el.length - 1]);
    }

    private static byte[] readAll(InputStream in) {
        try {
            return in.readAllBytes();
        } catch (IOException e) {
            return new byte[0];
        }
    }

    private String waitBackground() {
        List<Thread> ts;
        synchronized (background) {
            ts = new ArrayList<>(background);
            background.clear();
        }
        for (Thread t : ts) {
            try {
                t.join(TimeUnit.SECONDS.toMillis(130));
            } catch (InterruptedException e) {
                return "interrupted while waiting for a background client";
            }
            if (t.isAlive()) {
                return "a background client did not finish";
            }
        }
        synchronized (backgroundErrors) {
            if (!backgroundErrors.isEmpty()) {
                String e = backgroundErrors.get(0);
                backgroundErrors.clear();
                return "background " + e;
            }
        }
        return null;
    }

    // ---- the record ----------------------------------------------------------------------------------

    boolean eventMatches(EventRecord r, String name, Map<String, Object> params) {
        if (!r.event().equals(name)) {
            return false;
        }
        for (Map.Entry<String, Object> p : params.entrySet()) {
            if (!r.params().containsKey(p.getKey())) {
                throw new CaseError(name + " has no parameter " + p.getKey());
            }
            if (!Values.matches(p.getValue(), r.params().get(p.getKey()), this)) {
                return false;
            }
        }
        return true;
    }

    /** Waits until `count` matching events were recorded and their handlers have finished. */
    private boolean waitEvent(String name, Map<String, Object> params, long count, long timeoutMs)
            throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        synchronized (records) {
            while (true) {
                long seen = 0;
                for (EventRecord r : records) {
                    if (r.done && eventMatches(r, name, params)) {
                        seen++;
                    }
                }
                if (seen >= count) {
                    return true;
                }
                long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
                if (left <= 0) {
                    return false;
                }
                records.wait(left);
            }
        }
    }

    List<EventRecord> records() {
        synchronized (records) {
            return new ArrayList<>(records);
        }
    }

    Path root() {
        return root;
    }

    Provider provider() {
        return provider;
    }

    Vfs vfs() {
        return vfs;
    }

    Map<String, Object> vars() {
        return vars;
    }

    boolean hasEvent(String name) {
        return spec.events.containsKey(name);
    }

    // ---- JSON shape helpers --------------------------------------------------------------------------

    @SuppressWarnings("unchecked")
    static Map<String, Object> map(Object o, String what) {
        if (!(o instanceof Map)) {
            throw new CaseError(what + " must be an object");
        }
        return (Map<String, Object>) o;
    }

    @SuppressWarnings("unchecked")
    static List<Object> list(Object o, String what) {
        if (!(o instanceof List)) {
            throw new CaseError(what + " must be a list");
        }
        return (List<Object>) o;
    }

    static Set<String> sortedSet(Iterable<String> it) {
        Set<String> s = new TreeSet<>();
        it.forEach(s::add);
        return s;
    }

    static boolean sameBytes(byte[] a, byte[] b) {
        return Arrays.equals(a, b);
    }

    static Set<String> setOf(List<Object> l) {
        Set<String> s = new HashSet<>();
        for (Object o : l) {
            s.add(Vfs.norm((String) o));
        }
        return s;
    }
}
