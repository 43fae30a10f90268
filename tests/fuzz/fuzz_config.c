/* libFuzzer target: config("Name=Value") and config("Name") strings.
 * Input: up to four settings separated by newlines, applied to a fresh server.
 * Checked: a read never fails for a name that a write accepted; a refused write changes nothing
 * (the value read before and after is the same); an accepted write reads back in canonical form,
 * and writing that form again is accepted and reads back unchanged (a fixed point). LogFile values
 * are kept to plain names, so the target writes only into its scratch working directory. */
#include <ctype.h>
#include <strings.h>

#include "fuzz_common.h"

#include "sftpkit/sftpkit.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    char dir[] = "/tmp/sfkfuzz-config.XXXXXX"; /* where a LogFile=name lands */
    fuzz_check(mkdtemp(dir) && chdir(dir) == 0, "scratch directory");
    return 0;
}

static char *read_setting(sftpkit_server *s, const char *name, int *rc)
{
    char *out = NULL;
    *rc = sftpkit_server_config(s, name, &out);
    return *rc ? NULL : out;
}

static void apply(sftpkit_server *s, const char *setting)
{
    const char *eq = strchr(setting, '=');
    if (!eq) { /* a read: must not crash; out only on success */
        char *out = (char *)"untouched";
        int rc = sftpkit_server_config(s, setting, &out);
        fuzz_check(rc == 0 ? out != NULL : 1, "config read succeeded without a value");
        if (rc == 0)
            free(out);
        return;
    }
    char *name = strndup(setting, (size_t)(eq - setting));
    const char *n = name;
    while (isspace((unsigned char)*n))
        n++;
    if (!strncasecmp(n, "logfile", 7) && strchr(eq, '/')) {
        free(name);
        return;
    }
    int rc_before, rc_set, rc_after;
    char *before = read_setting(s, name, &rc_before);
    char *ignored = NULL;
    rc_set = sftpkit_server_config(s, setting, &ignored);
    free(ignored);
    char *after = read_setting(s, name, &rc_after);
    if (rc_set) {
        fuzz_check(rc_before == rc_after, "a refused write changed whether %s reads", name);
        if (!rc_before)
            fuzz_check(!strcmp(before, after), "refused \"%s\" changed %s from \"%s\" to \"%s\"", setting, name, before,
                       after);
    } else {
        fuzz_check(rc_after == 0, "%s was written but cannot be read", name);
        char *again = malloc(strlen(name) + strlen(after) + 2), *ign2 = NULL;
        sprintf(again, "%s=%s", name, after);
        int rc2 = sftpkit_server_config(s, again, &ign2);
        free(ign2);
        fuzz_check(rc2 == 0, "the canonical value \"%s\" of %s is refused", after, name);
        int rc3;
        char *third = read_setting(s, name, &rc3);
        fuzz_check(rc3 == 0 && !strcmp(third, after), "%s: \"%s\" is not a fixed point (\"%s\")", name, after,
                   third ? third : "(error)");
        free(third);
        free(again);
    }
    free(before);
    free(after);
    free(name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    sftpkit_server *s = sftpkit_server_new();
    fuzz_check(s != NULL, "sftpkit_server_new");
    char *save = NULL;
    int count = 0;
    for (char *line = strtok_r(text, "\n", &save); line && count < 4; line = strtok_r(NULL, "\n", &save), count++)
        apply(s, line);
    sftpkit_server_free(s);
    free(text);
    return 0;
}
