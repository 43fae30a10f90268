package org.sftpkit;

import java.util.ArrayDeque;
import java.util.Deque;

/** Client path helpers (SFTP paths are "/"-separated whatever the host). */
final class Paths {
    private Paths() {
    }

    /** "/a/./b/../c" -> "/a/c"; relative paths start at "/"; ".." stops at "/". */
    static String normalize(String path) {
        Deque<String> parts = new ArrayDeque<>();
        for (String p : (path == null ? "" : path).split("/")) {
            if (p.isEmpty() || p.equals(".")) {
                continue;
            }
            if (p.equals("..")) {
                parts.pollLast();
            } else {
                parts.addLast(p);
            }
        }
        return "/" + String.join("/", parts);
    }

    /** "/a/b" + "c" -> "/a/b/c"; "/" + "c" -> "/c". */
    static String child(String dir, String name) {
        return dir.endsWith("/") ? dir + name : dir + "/" + name;
    }

    /** The last component ("/" for the root). */
    static String name(String path) {
        int i = path.lastIndexOf('/');
        return path.equals("/") || i < 0 ? path : path.substring(i + 1);
    }
}
