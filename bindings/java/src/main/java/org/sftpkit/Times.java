package org.sftpkit;

import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;

/**
 * The library's date-time strings ({@code YYYY-MM-DDTHH:MM:SSZ}, UTC) as Instants. The library also
 * accepts a space for the T, no Z, fractions, a date alone or seconds since 1970 on input; so does
 * parse(), so a value read back always converts.
 */
final class Times {
    private Times() {
    }

    /** null for "" (no time set) and for text that is no time at all. */
    static Instant parse(String text) {
        if (text == null) {
            return null;
        }
        String t = text.trim();
        if (t.isEmpty()) {
            return null;
        }
        try {
            if (t.chars().allMatch(Character::isDigit)) {
                return Instant.ofEpochSecond(Long.parseLong(t));
            }
            t = t.replace(' ', 'T');
            if (t.endsWith("Z")) {
                t = t.substring(0, t.length() - 1);
            }
            if (t.indexOf('T') < 0) {
                return LocalDate.parse(t).atStartOfDay().toInstant(ZoneOffset.UTC);
            }
            return LocalDateTime.parse(t).toInstant(ZoneOffset.UTC);
        } catch (DateTimeParseException | NumberFormatException e) {
            return null;
        }
    }

    /** "" for null; whole seconds (SFTP v3 carries no fractions). */
    static String format(Instant when) {
        return when == null ? "" : when.truncatedTo(ChronoUnit.SECONDS).toString();
    }
}
