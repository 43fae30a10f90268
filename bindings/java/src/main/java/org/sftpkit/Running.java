package org.sftpkit;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Started servers. Being here keeps a serving server strongly reachable until stop() or close()
 * (so dropping the last reference cannot let the Cleaner stop it behind the application's back),
 * and lets a JVM shutdown hook close the servers still running when the JVM exits: connections are
 * closed cleanly and no native server thread calls into a VM that is going away.
 */
final class Running {
    private static final Set<SFTPServer> SERVERS = ConcurrentHashMap.newKeySet();
    private static final AtomicBoolean HOOKED = new AtomicBoolean();

    private Running() {
    }

    static void add(SFTPServer s) {
        SERVERS.add(s);
        if (HOOKED.compareAndSet(false, true)) {
            try {
                Runtime.getRuntime().addShutdownHook(new Thread(Running::closeAll, "sftpkit-shutdown"));
            } catch (IllegalStateException e) {
                // already shutting down: nothing left to hook into
            }
        }
    }

    static void remove(SFTPServer s) {
        SERVERS.remove(s);
    }

    static boolean contains(SFTPServer s) {
        return SERVERS.contains(s);
    }

    private static void closeAll() {
        for (SFTPServer s : SERVERS.toArray(new SFTPServer[0])) {
            try {
                s.close();
            } catch (Throwable e) {
                // best effort at exit
            }
        }
    }
}
