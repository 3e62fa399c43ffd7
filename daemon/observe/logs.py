"""One place that configures logging: journald with fields under systemd, plain lines otherwise.

Under systemd (``$JOURNAL_STREAM`` naming the stream that is our stderr) and with
systemd-python installed, records go to the journal with structured fields: ``DEPLOYD_RUN``,
``DEPLOYD_COMMIT``, ``DEPLOYD_COMPONENT`` taken from the ``extra`` of a log call
(``log.info(..., extra={"run_id": ..., "commit": ...})``). Otherwise one plain line per record
goes to stderr (journald still captures it under systemd); so does a record the journal refuses
(journald gone, its socket left behind).
"""

from __future__ import annotations

import logging
import os
import sys

from daemon.records import ErrorRecord, RunRecord

FIELDS = {
    "run_id": "DEPLOYD_RUN",
    "commit": "DEPLOYD_COMMIT",
    "component": "DEPLOYD_COMPONENT",
    # a signature refusal: the commit that failed, its signer and key, the path it may not change
    "refused_commit": "DEPLOYD_REFUSED_COMMIT",
    "signer": "DEPLOYD_SIGNER",
    "signer_key": "DEPLOYD_SIGNER_KEY",
    "path": "DEPLOYD_PATH",
    "uid": "DEPLOYD_UID",  # who asked for a change on the control socket
}
_SYSTEMD_FORMAT = "%(levelname)s %(name)s: %(message)s"  # journald adds the time


class _PlainFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = [f"{key}={getattr(record, key)}" for key in FIELDS if getattr(record, key, None)]
        return f"{line} [{' '.join(extras)}]" if extras else line


def _journal_handler() -> logging.Handler | None:
    if os.environ.get("DEPLOYD_NO_SYSTEMD_PYTHON") == "1":
        return None
    try:
        from systemd import journal  # type: ignore[import-not-found,attr-defined,unused-ignore]
    except ImportError:
        return None

    class JournalHandler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            try:
                message = self.format(record)
                fields = {
                    name: str(getattr(record, key))
                    for key, name in FIELDS.items()
                    if getattr(record, key, None)
                }
                journal.send(
                    message,
                    # Where the log call is, not this handler (systemd-python's default).
                    CODE_FILE=record.pathname,
                    CODE_LINE=record.lineno,
                    CODE_FUNC=record.funcName,
                    PRIORITY=str(_priority(record.levelno)),
                    SYSLOG_IDENTIFIER="deployd",
                    LOGGER=record.name,
                    **fields,
                )
            except OSError:
                # journald unreachable (restarting, socket gone): keep the line on stderr,
                # which journald reads through $JOURNAL_STREAM, instead of a traceback.
                self._fallback(record)
            except Exception:  # logging must never break the daemon
                self.handleError(record)

        def _fallback(self, record: logging.LogRecord) -> None:
            try:
                sys.stderr.write(_PlainFormatter(_SYSTEMD_FORMAT).format(record) + "\n")
                sys.stderr.flush()
            except Exception:
                self.handleError(record)

    return JournalHandler()


def _priority(level: int) -> int:
    if level >= logging.ERROR:
        return 3
    if level >= logging.WARNING:
        return 4
    return 6 if level >= logging.INFO else 7


def setup_logging(debug: bool = False) -> str:
    """Configure the root logger once; return which sink was chosen ("journal" or "plain")."""
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.setLevel(logging.DEBUG if debug else logging.INFO)
    under_systemd = stderr_is_the_journal()
    handler = _journal_handler() if under_systemd else None
    sink = "journal"
    if handler is None:
        sink = "plain"
        handler = logging.StreamHandler(sys.stderr)
        fmt = _SYSTEMD_FORMAT if under_systemd else "%(asctime)s " + _SYSTEMD_FORMAT
        handler.setFormatter(_PlainFormatter(fmt))
    root.addHandler(handler)
    for noisy in ("git", "httpx", "httpcore", "watchfiles"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return sink


def stderr_is_the_journal() -> bool:
    """systemd puts the device and inode of the stream it connects to stderr in
    ``$JOURNAL_STREAM``. Only when they match is stderr really the journal: a shell started from
    a service (or a terminal that inherited the variable) gets plain, time-stamped lines on its
    own stderr, as systemd.exec(5) advises."""
    try:
        device, inode = (int(part) for part in os.environ.get("JOURNAL_STREAM", "").split(":"))
        stream = os.fstat(2)
    except (ValueError, OSError):
        return False
    return (stream.st_dev, stream.st_ino) == (device, inode)


_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}
_worker_log = logging.getLogger("daemon.worker")


def log_worker_stderr(run_id: str, commit: str, line: str) -> None:
    """A line the worker wrote to stderr (``print()`` in component code, warnings) into the
    daemon's log, with the run's fields; ``deployd apply`` shows the same on the terminal."""
    text = line.rstrip()
    if text:
        _worker_log.info("stderr: %s", text, extra={"run_id": run_id, "commit": commit})


def log_worker_event(run_id: str, commit: str, event: dict[str, object]) -> None:
    """Pass a worker's log lines and component outcomes on to the daemon's log, with fields."""
    kind, component = event.get("event"), event.get("component")
    extra = {"run_id": run_id, "commit": commit, "component": component}
    if kind == "log":
        level = _LEVELS.get(str(event.get("level")), logging.INFO)
        _worker_log.log(level, "%s", event.get("message"), extra=extra)
    elif kind == "component-finished":
        duration = float(event.get("duration") or 0.0)  # type: ignore[arg-type]
        _worker_log.info(
            "converge: %s %s (%.2fs)", component, event.get("outcome"), duration, extra=extra
        )
    elif kind == "debugger-waiting":
        _worker_log.warning(
            "debugger waiting at %s:%s: attach with `nc -C %s %s`",
            event.get("file"),
            event.get("line"),
            event.get("host"),
            event.get("port"),
            extra=extra,
        )


_run_log = logging.getLogger("daemon.run")
_FAILED = ("failed", "timeout", "crashed", "rollback-failed")
# Not failures of the run itself, but worth a warning with the reason: a refusal, and a
# rollback after a failed health check (docs/fleet.md).
_WARNED = ("refused", "rolled-back")


def log_run_outcome(record: RunRecord) -> None:
    """One line per finished run. A run that failed says why, at error level, with the first
    error's place and what to do: `journalctl -p err -u deployd` alone must tell an operator
    what broke (the full report stays in `deployd history ID`)."""
    extra: dict[str, object] = {
        "run_id": record.id,
        "commit": record.commit.sha if record.commit else None,
    }
    if record.refusal:  # a possible attack, not a mistake: at error level, with the signer
        refusal = record.refusal
        extra.update(
            refused_commit=refusal.commit,
            signer=refusal.signer or "unknown",
            signer_key=refusal.key,
            path=refusal.path,
        )
    if record.outcome not in _FAILED and record.outcome not in _WARNED:
        _run_log.info("run %s: %s", record.id, record.outcome, extra=extra)
        return
    first = record.errors[0] if record.errors else None
    if first is not None:
        extra["component"] = first.component
    why = _describe(first) if first else (record.reason or "no error recorded")
    extra_errors = len(record.errors) - 1
    more = f" (+{extra_errors} more: deployd history {record.id})" if extra_errors > 0 else ""
    level = logging.ERROR if record.outcome in _FAILED or record.refusal else logging.WARNING
    _run_log.log(level, "run %s: %s: %s%s", record.id, record.outcome, why, more, extra=extra)


def _describe(error: ErrorRecord) -> str:
    where = (
        f"{error.file}:{error.line}" if error.file and error.line else error.file or error.section
    )
    text = f"{error.kind}: {error.message}"
    text += f" at {where}" if where else ""
    text += f" (component {error.component})" if error.component else ""
    return text + (f"; hint: {error.hint}" if error.hint else "")
