package org.sftpkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** close(): idempotent, from any thread, racing with calls; no global reference survives it. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class LifecycleTest {
    @Test
    void closeIsIdempotentAndLaterCallsFailWithInvalidState() {
        SFTPServer s = new SFTPServer();
        assertTrue(!s.isClosed());
        s.close();
        s.close();
        assertTrue(s.isClosed());
        SFTPKitException e = assertThrows(SFTPKitException.class, s::getPort);
        assertEquals(ErrorCode.INVALID_STATE, e.getCode());
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
        assertThrows(SFTPKitException.class, () -> s.setOnAuthPassword(ev -> { }));
        assertThrows(SFTPKitException.class, s::start);
        assertThrows(SFTPKitException.class, () -> s.addListener(new SFTPServerListener() { }));
    }

    @Test
    void noGlobalReferenceSurvivesClose() {
        int baseline = FireHooks.liveRegistrations();
        for (int i = 0; i < 200; i++) {
            try (SFTPServer s = new SFTPServer()) {
                // handlers that capture their server: the classic cycle through a global reference
                s.setOnAuthPassword(e -> e.setAccept(s.getUserCount() > 0));
                s.addListener(new SFTPServerListener() {
                    @Override
                    public void onConnect(ConnectEvent e) {
                        s.getPort();
                    }
                });
                assertEquals(baseline + 1, FireHooks.liveRegistrations(), "one registration per server");
            }
        }
        assertEquals(baseline, FireHooks.liveRegistrations());
    }

    @Test
    void serversWithoutHandlersHoldNoGlobalReference() {
        int baseline = FireHooks.liveRegistrations();
        try (SFTPServer s = new SFTPServer()) {
            s.setPort(2222);
            assertEquals(baseline, FireHooks.liveRegistrations());
        }
    }

    @Test
    void unclosedUnreachableServersAreFreedByTheCleaner() throws Exception {
        int baseline = FireHooks.liveRegistrations();
        for (int i = 0; i < 50; i++) {
            SFTPServer s = new SFTPServer();
            s.setOnAuthPassword(e -> e.setAccept(s.getPort() == 22)); // captures s
        }
        assertEquals(baseline + 50, FireHooks.liveRegistrations());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (FireHooks.liveRegistrations() > baseline && System.nanoTime() < deadline) {
            System.gc();
            Thread.sleep(20);
        }
        assertEquals(baseline, FireHooks.liveRegistrations(), "the native dispatcher does not keep servers alive");
    }

    @Test
    void closeRacingWithCallsFromManyThreads() throws Exception {
        for (int round = 0; round < 20; round++) {
            SFTPServer s = new SFTPServer();
            s.setOnConnect(e -> e.getServer().getBaseDir());
            CountDownLatch go = new CountDownLatch(1);
            AtomicInteger ok = new AtomicInteger();
            AtomicInteger closedErrors = new AtomicInteger();
            List<Throwable> other = new ArrayList<>();
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < 6; t++) {
                Thread th = new Thread(() -> {
                    try {
                        go.await();
                        for (int i = 0; i < 2000; i++) {
                            s.setBaseDir("/tmp/" + i);
                            s.getBaseDir();
                            ok.incrementAndGet();
                        }
                    } catch (SFTPKitException e) {
                        if (e.getCode() == ErrorCode.INVALID_STATE) {
                            closedErrors.incrementAndGet();
                        } else {
                            synchronized (other) {
                                other.add(e);
                            }
                        }
                    } catch (Throwable e) {
                        synchronized (other) {
                            other.add(e);
                        }
                    }
                });
                th.start();
                threads.add(th);
            }
            Thread closer = new Thread(s::close);
            go.countDown();
            Thread.sleep(round % 3);
            closer.start();
            s.close(); // two closers at once
            closer.join();
            for (Thread th : threads) {
                th.join();
            }
            assertEquals(List.of(), other);
            assertTrue(s.isClosed());
        }
    }

    @Test
    void keysCloseToo() {
        SSHKey k = new SSHKey();
        k.close();
        k.close();
        assertEquals(ErrorCode.INVALID_STATE, assertThrows(SFTPKitException.class, k::getHandle).getCode());
    }
}
