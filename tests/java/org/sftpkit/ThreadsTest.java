package org.sftpkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Native server threads entering Java: attached once per thread as daemons (one java.lang.Thread
 * per native thread, named after it), detached when the native thread ends, many at once, calling
 * back into the server; close() from inside a handler.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ThreadsTest {
    private static Set<String> liveAttachedTestThreads() {
        Set<String> names = new java.util.TreeSet<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().startsWith("sftpkit:sfk-test-")) {
                names.add(t.getName());
            }
        }
        return names;
    }

    @Test
    void twentyNativeThreadsAttachOnceAsDaemonsAndDetachAtExit() {
        try (SFTPServer s = new SFTPServer()) {
            Map<String, Set<Thread>> byName = new ConcurrentHashMap<>();
            AtomicInteger calls = new AtomicInteger();
            List<Throwable> problems = new ArrayList<>();
            s.setOnConnect(e -> {
                Thread t = Thread.currentThread();
                byName.computeIfAbsent(t.getName(), k -> ConcurrentHashMap.newKeySet()).add(t);
                if (!t.isDaemon()) {
                    synchronized (problems) {
                        problems.add(new AssertionError(t + " is not a daemon"));
                    }
                }
                assertEquals("127.0.0.1", e.getRemoteAddress());
                calls.incrementAndGet();
            });
            int[] out = new int[2];
            assertEquals(0, FireHooks.burst(FireHooks.ptr(s), 0, 20, 50, out));
            assertEquals(1000, out[0], "every event ran a handler");
            assertEquals(1000, calls.get());
            assertEquals(List.of(), problems);
            assertEquals(20, byName.size(), "one Java thread name per native thread: " + byName.keySet());
            for (Map.Entry<String, Set<Thread>> en : byName.entrySet()) {
                assertTrue(en.getKey().startsWith("sftpkit:sfk-test-"), en.getKey());
                assertEquals(1, en.getValue().size(), en.getKey() + " was attached more than once");
            }
            assertEquals(Set.of(), liveAttachedTestThreads(), "native threads that ended are detached");
        }
    }

    @Test
    void concurrentHandlersDecideAndCallBackIntoTheServer() {
        try (SFTPServer s = new SFTPServer()) {
            s.setUserCount(20);
            for (int i = 0; i < 20; i++) {
                s.setUserUsername(i, "u" + i);
            }
            s.setOnAuthPassword(e -> {
                // Accept users whose index is even, looked up through the server from this thread.
                SFTPServer srv = e.getServer();
                for (int i = 0; i < srv.getUserCount(); i++) {
                    if (srv.getUserUsername(i).equals(e.getUsername())) {
                        e.setAccept(i % 2 == 0);
                        srv.setUserData(i, "seen by " + Thread.currentThread().getName());
                    }
                }
            });
            int[] out = new int[2];
            assertEquals(0, FireHooks.burst(FireHooks.ptr(s), 1, 20, 25, out));
            assertEquals(500, out[0]);
            assertEquals(250, out[1], "10 of 20 threads' users accepted, 25 times each");
            for (int i = 0; i < 20; i++) {
                assertEquals("seen by sftpkit:sfk-test-" + i, s.getUserData(i));
            }
        }
        assertEquals(Set.of(), liveAttachedTestThreads());
    }

    @Test
    void closeFromInsideAHandlerIsDeferredAndReleasesEverything() throws Exception {
        int baseline = FireHooks.liveRegistrations();
        SFTPServer s = new SFTPServer();
        CountDownLatch inside = new CountDownLatch(1);
        s.setOnConnect(e -> {
            e.getServer().close();
            assertTrue(e.getServer().isClosed());
            assertThrows(SFTPKitException.class, () -> e.getServer().getPort());
            inside.countDown();
        });
        int[] out = new int[2];
        assertEquals(0, FireHooks.burst(FireHooks.ptr(s), 0, 1, 1, out));
        assertTrue(inside.await(10, TimeUnit.SECONDS));
        SFTPKitException e = assertThrows(SFTPKitException.class, s::getPort);
        assertEquals(ErrorCode.INVALID_STATE, e.getCode());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (FireHooks.liveRegistrations() != baseline && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertEquals(baseline, FireHooks.liveRegistrations(), "the deferred free released the dispatcher");
    }

    @Test
    void handlersOnJavaThreadsDoNotAttachAgain() {
        try (SFTPServer s = new SFTPServer()) {
            List<Thread> seen = new ArrayList<>();
            s.setOnAuthPassword(e -> seen.add(Thread.currentThread()));
            int[] out = new int[2];
            FireHooks.authPassword(FireHooks.ptr(s), 1, FireHooks.utf8("u"), FireHooks.utf8("p"), 0, out);
            assertEquals(List.of(Thread.currentThread()), seen, "an event fired on a Java thread runs on it");
        }
    }
}
