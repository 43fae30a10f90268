package org.sftpkit;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * PendingRequest.defer outside an on_read_file / on_write_file handler is refused with the
 * library's error (no token is made). The deferred path through a real client is covered by the
 * conformance cases fs_parallel.deferred.* (tests/conformance/runners/java/run BUILD fs_parallel).
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class PendingRequestTest {
    @Test
    void deferOutsideAHandlerIsRefused() {
        try (SFTPServer s = new SFTPServer()) {
            SFTPKitException x = assertThrows(SFTPKitException.class, () -> PendingRequest.defer(s, 1, ""));
            assertTrue(x.getCode() != 0, x.toString());
            assertThrows(SFTPKitException.class, () -> PendingRequest.defer(s, 1, "vfs1"));
        }
    }
}
