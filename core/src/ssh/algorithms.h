/* SSH algorithm lists: the table of what libssh 0.10.6 supports (generated from
 * spec/sftpkit.json) and the document's list syntax ("a,b;-c", "all", "-all"). */
#ifndef SFK_ALGORITHMS_H
#define SFK_ALGORITHMS_H

typedef struct {
    const char *kind; /* "encryption", "mac", "kex", "public_key", "compression" */
    const char *const *supported;
    const char *const *defaults;
    const char *const *aliases; /* pairs: document spelling, libssh spelling */
    const char *const *unsupported;
} sfk_algorithm_table;

extern const sfk_algorithm_table sfk_algorithm_tables[]; /* ends with kind == NULL */

const sfk_algorithm_table *sfk_algorithm_table_for(const char *kind);

/* Validates a property value; on failure returns non-zero and sets *message (malloc'd) to a
 * sentence naming the offending names. "" is valid (the defaults). */
int sfk_algorithms_check(const char *kind, const char *list, char **message);

/* Applies list to the defaults and returns the effective, comma-separated libssh list in
 * preference order (malloc'd). Returns NULL with *message set when the list is invalid or leaves
 * nothing enabled. */
char *sfk_algorithms_resolve(const char *kind, const char *list, char **message);

#endif
