package org.sftpkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Instant;
import java.util.EnumSet;
import org.junit.jupiter.api.Test;

/**
 * The typed surface generated from the spec: enums with the document's numbers, bit sets,
 * typed property accessors beside the C-level ones, times as Instant.
 */
class TypesTest {
    @Test
    void enumsCarryTheDocumentsNumbers() {
        assertEquals(1, OperationStatus.ostOk.value());
        assertEquals(7, OperationStatus.ostEOF.value());
        assertEquals(OperationStatus.ostNoSuchFile, OperationStatus.of(2));
        assertNull(OperationStatus.of(0), "0 (failed otherwise) is none of the set's");
        assertEquals(2, FileRequestAction.fraCustom.value());
        assertEquals(1024, FileOpenMode.cfmDeleteOnClose.value());
        assertEquals(EnumSet.of(FileOpenMode.cfmWrite, FileOpenMode.cfmCreate, FileOpenMode.cfmTruncate),
                FileOpenMode.setOf(26), "OpenSSH's put");
        assertEquals(26, FileOpenMode.maskOf(FileOpenMode.setOf(26 | (1L << 40))), "unknown bits are left out");
        assertEquals(0, FileOpenMode.maskOf(null));
    }

    @Test
    void typedPropertiesAreTheSameValueAsTheNumbers() {
        try (SFTPServer s = new SFTPServer()) {
            assertEquals(30, s.getAuthTypesValue());
            assertEquals(EnumSet.of(AuthType.atPublicKey, AuthType.atPassword, AuthType.atHostbased, AuthType.atKeyboard),
                    s.getAuthTypes());
            s.setAuthTypes(EnumSet.of(AuthType.atPassword));
            assertEquals(4, s.getAuthTypesValue());
            s.setClientFileEntryFileType(FileType.cftDirectory);
            assertEquals(1, s.getClientFileEntryFileTypeValue());
            assertEquals(FileType.cftDirectory, s.getClientFileEntryFileType());
            s.setExternalCryptoModeValue(2);
            assertEquals(ExternalCryptoMode.ecmGeneric, s.getExternalCryptoMode());
            assertThrows(NullPointerException.class, () -> s.setExternalCryptoMode(null));
            s.setUserCount(1);
            s.setUserOtpAlgorithm(0, OtpAlgorithm.oaTime);
            assertEquals(1, s.getUserOtpAlgorithmValue(0));
        }
    }

    @Test
    void timesAreInstants() {
        try (SFTPServer s = new SFTPServer()) {
            assertNull(s.getClientFileEntryMTime(), "unset");
            s.setClientFileEntryMTime(Instant.parse("2024-02-29T12:34:56.789Z"));
            assertEquals("2024-02-29T12:34:56Z", s.getClientFileEntryMTimeText(), "whole seconds, UTC");
            assertEquals(Instant.parse("2024-02-29T12:34:56Z"), s.getClientFileEntryMTime());
            s.setClientFileEntryATimeText("1700000000");
            assertEquals(Instant.ofEpochSecond(1_700_000_000L), s.getClientFileEntryATime(), "what the library accepts reads back");
            s.setClientFileEntryCTime(null);
            assertEquals("", s.getClientFileEntryCTimeText());
        }
    }
}
