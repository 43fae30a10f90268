"""The native log into Python's logging. Every server sends its library log lines here (through
sftpkit_server_set_log_handler) instead of stderr; they go to the "sftpkit" logger's children by
module ("sftpkit.server", "sftpkit.ssh", "sftpkit.sftp", "sftpkit.auth"), so an application
configures them like any other library's log. Handler exceptions are logged on "sftpkit" itself.

Levels: the library's fatal/error/warning/info/debug/trace become CRITICAL/ERROR/WARNING/INFO/DEBUG
and TRACE (5, registered with logging.addLevelName). The library only produces what its LogLevel
setting lets through, so start() derives LogLevel from the "sftpkit" logger's effective level
(ServerBase._before_start) unless the application chose a LogLevel itself.
"""
import logging

LOG = logging.getLogger("sftpkit")
TRACE = 5
logging.addLevelName(TRACE, "TRACE")

# native level (1 fatal .. 6 trace) -> logging level
_TO_PY = {1: logging.CRITICAL, 2: logging.ERROR, 3: logging.WARNING, 4: logging.INFO, 5: logging.DEBUG,
          6: TRACE}
_children = {}


def native_log(level, module, message):
    """Called by the native trampoline (with the GIL) for each line the library logs."""
    logger = _children.get(module)
    if logger is None:
        logger = _children.setdefault(module, LOG.getChild(module or "core"))
    py_level = _TO_PY.get(level, logging.INFO)
    if logger.isEnabledFor(py_level):
        logger.log(py_level, "%s", message)


def level_name_for(logger):
    """The LogLevel value that produces what logger would show: its effective level mapped back
    (a disabled logger: "none")."""
    if logger.disabled:
        return "none"
    eff = logger.getEffectiveLevel()
    if eff <= TRACE:
        return "trace"
    if eff <= logging.DEBUG:
        return "debug"
    if eff <= logging.INFO:
        return "info"
    if eff <= logging.WARNING:
        return "warning"
    if eff <= logging.ERROR:
        return "error"
    if eff <= logging.CRITICAL:
        return "fatal"
    return "none"
