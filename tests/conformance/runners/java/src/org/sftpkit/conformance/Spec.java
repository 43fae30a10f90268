package org.sftpkit.conformance;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The events and their parameters in spec order, from spec/sftpserver.json. */
final class Spec {
    record Param(String name, String type, boolean byref) {
    }

    record Event(String name, List<Param> params) {
        /** on_auth_password -> AuthPassword */
        String shortPascal() {
            return Api.pascal(name.startsWith("on_") ? name.substring(3) : name);
        }
    }

    final Map<String, Event> events = new LinkedHashMap<>();

    @SuppressWarnings("unchecked")
    static Spec load(Path file) throws Exception {
        Map<String, Object> doc = (Map<String, Object>) Json.parse(Files.readString(file, StandardCharsets.UTF_8));
        // sftpkit's additions (spec/sftpkit.json): extra events, and parameters appended to events
        Map<String, Object> ours = (Map<String, Object>) Json.parse(
                Files.readString(file.resolveSibling("sftpkit.json"), StandardCharsets.UTF_8));
        Map<String, Object> extraParams = (Map<String, Object>) ours.getOrDefault("extra_event_params", Map.of());
        List<Object> all = new ArrayList<>((List<Object>) doc.get("events"));
        Map<String, Object> extraEvents = (Map<String, Object>) ours.getOrDefault("extra_events", Map.of());
        all.addAll((List<Object>) extraEvents.getOrDefault("events", List.of()));
        Spec s = new Spec();
        for (Object o : all) {
            Map<String, Object> e = (Map<String, Object>) o;
            List<Object> raw = new ArrayList<>((List<Object>) e.get("params"));
            raw.addAll((List<Object>) extraParams.getOrDefault((String) e.get("name"), List.of()));
            List<Param> ps = new ArrayList<>();
            for (Object po : raw) {
                Map<String, Object> p = (Map<String, Object>) po;
                ps.add(new Param((String) p.get("name"), (String) p.get("type"), Boolean.TRUE.equals(p.get("byref"))));
            }
            s.events.put((String) e.get("name"), new Event((String) e.get("name"), ps));
        }
        return s;
    }
}
