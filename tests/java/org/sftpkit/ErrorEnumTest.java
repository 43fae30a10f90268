package org.sftpkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import org.junit.jupiter.api.Test;

/** SFTPKitError (the error codes as an enum) agrees with the int constants and with exceptions. */
class ErrorEnumTest {
    @Test
    void everyIntConstantHasItsEnumConstant() throws Exception {
        int n = 0;
        for (Field f : ErrorCode.class.getFields()) {
            if (!Modifier.isStatic(f.getModifiers()) || f.getType() != int.class) {
                continue;
            }
            SFTPKitError e = SFTPKitError.valueOf(f.getName());
            assertEquals(f.getInt(null), e.code(), f.getName());
            assertEquals(e.code(), SFTPKitError.of(e.code()).code()); // 1048581 has two names in the document
            assertNotNull(e.text());
            n++;
        }
        assertEquals(SFTPKitError.values().length, n, "one enum constant per int constant");
        assertNull(SFTPKitError.of(12345));
    }

    @Test
    void aRefusedCallCarriesTheEnum() {
        try (SFTPServer s = new SFTPServer()) {
            SFTPKitException e = assertThrows(SFTPKitException.class, () -> s.setPort(-5));
            assertEquals(e.getCode(), e.getError().code());
            assertEquals(ErrorCode.INVALID_VALUE, e.getCode());
            assertEquals(SFTPKitError.INVALID_VALUE, e.getError());
        }
    }
}
