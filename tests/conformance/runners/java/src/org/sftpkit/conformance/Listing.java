package org.sftpkit.conformance;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.sftpkit.SFTPKitEvent;
import org.sftpkit.SFTPServer;

/** The "listing" behaviour: on_find_* served from a fixed list of entries (FORMAT.md). */
final class Listing {
    private final Object pathMatcher; // null: every path
    private final String handle; // null: keep the handle the event carries
    private final List<Map<String, Object>> entries = new ArrayList<>();
    private final Map<String, Integer> next = new HashMap<>(); // guarded by this
    private final Case ctx;

    @SuppressWarnings("unchecked")
    Listing(Map<String, Object> spec, Case ctx) {
        this.ctx = ctx;
        this.pathMatcher = spec.get("path");
        this.handle = spec.containsKey("handle") ? (String) Values.eval(spec.get("handle"), ctx) : null;
        for (Object o : (List<Object>) spec.getOrDefault("entries", List.of())) {
            Map<String, Object> fields = new java.util.LinkedHashMap<>();
            for (Map.Entry<String, Object> f : ((Map<String, Object>) o).entrySet()) {
                fields.put(f.getKey(), Values.eval(f.getValue(), ctx));
            }
            entries.add(fields);
        }
    }

    void handle(SFTPKitEvent e, Map<String, Object> p) {
        String ev = e.getEventName();
        if (!ev.equals("on_find_first") && !ev.equals("on_find_next") && !ev.equals("on_find_close")) {
            return;
        }
        SFTPServer srv = ctx.server();
        long cid = EventAccess.getLong(p, "connection_id");
        switch (ev) {
            case "on_find_first": {
                if (pathMatcher != null && !Values.matches(pathMatcher, p.get("path"), ctx)) {
                    return;
                }
                String h = handle != null ? handle : EventAccess.getString(p, "handle");
                if (handle != null) {
                    EventAccess.set(e, "handle", handle);
                }
                synchronized (this) {
                    next.put(h, 0);
                }
                EventAccess.set(e, "operation_status", serve(srv, cid, h));
                break;
            }
            case "on_find_next": {
                String h = EventAccess.getString(p, "handle");
                synchronized (this) {
                    if (!next.containsKey(h)) {
                        return;
                    }
                }
                EventAccess.set(e, "operation_status", serve(srv, cid, h));
                break;
            }
            case "on_find_close": {
                synchronized (this) {
                    if (next.remove(EventAccess.getString(p, "handle")) == null) {
                        return;
                    }
                }
                EventAccess.set(e, "operation_status", 1L);
                break;
            }
            default:
                break;
        }
    }

    private long serve(SFTPServer srv, long cid, String h) {
        int i;
        synchronized (this) {
            i = next.get(h);
            next.put(h, i + 1);
        }
        if (i >= entries.size()) {
            return 7L;
        }
        ctx.commitEntry(cid, h, entries.get(i));
        return 1L;
    }
}
