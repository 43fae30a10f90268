/* Fault injection for the engine tests, SQLite style: the Nth allocation or the Nth file-system
 * call from the moment of arming fails, once. The seam is the linker's --wrap (see
 * fault_inject.c): only the fault test's executable is linked with it, so the library and every
 * release build call libc directly and pay nothing. */
#ifndef SFK_FAULT_INJECT_H
#define SFK_FAULT_INJECT_H

typedef enum { FI_ALLOC, FI_FS } fi_kind;

/* Fail the nth call (1-based) of that kind made while counting is on, once; n = 0 disarms. */
void fi_arm(fi_kind kind, long n);
/* Fail the nth call and every later one of that kind (a disk that went away, memory that stays
 * exhausted) until disarmed with fi_arm(kind, 0). */
void fi_arm_persistent(fi_kind kind, long n);
/* Counting is on only inside the engine calls the test makes (never in the test's own code). */
void fi_count(int on);
/* Whether the armed fault has fired, and how many calls of the armed kind were counted. */
int fi_fired(void);
long fi_seen(void);
/* What the failed call was ("malloc", "openat2", ...), for messages. */
const char *fi_fired_at(void);

#endif
