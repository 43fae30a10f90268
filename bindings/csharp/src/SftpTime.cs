#nullable enable
using System;
using System.Globalization;

namespace SFTPKit
{
    /// <summary>
    /// The library's date-time strings (docs/file-system.md: UTC "YYYY-MM-DDTHH:MM:SSZ"; on input it
    /// also takes a space for the T, no Z, fractions, a date alone or seconds since 1970) as
    /// DateTimeOffset. "" means "not set" and reads as null.
    /// </summary>
    internal static class SftpTime
    {
        private static readonly string[] Formats =
        {
            "yyyy-MM-dd'T'HH:mm:ss'Z'", "yyyy-MM-dd HH:mm:ss'Z'", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd HH:mm:ss",
            "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", "yyyy-MM-dd HH:mm:ss.FFFFFFF", "yyyy-MM-dd",
        };

        internal static DateTimeOffset? Parse(string? text)
        {
            if (string.IsNullOrEmpty(text))
                return null;
            if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long seconds))
                return DateTimeOffset.FromUnixTimeSeconds(seconds);
            if (DateTimeOffset.TryParseExact(text, Formats, CultureInfo.InvariantCulture,
                    DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out DateTimeOffset t))
                return t;
            return null; // the library only hands out its own format; anything else is "not set"
        }

        internal static string Format(DateTimeOffset? time) =>
            time is DateTimeOffset t ? t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture) : "";
    }
}
