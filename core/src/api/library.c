/* The shared library's own translation unit: everything else comes from the sftpkit_core
 * archive (linked whole); this file only anchors the target. */
#include "sftpkit/sftpkit.h"
