"""The audit log: a row per event in the database, and one line on the log, neither with patient details."""

from __future__ import annotations

import logging
import re

LOGGER = logging.getLogger("handouts.audit")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


def clean(value: object, limit: int = 200) -> str:
    """One line (CWE-117): control characters and line breaks become spaces; long values are cut."""
    return _CONTROL.sub(" ", str(value))[:limit]


def record(user: object, event: str, *, clinic: str = "", document: str = "", version: str = "",
           language: str = "", variant: str = "", detail: str = "") -> None:
    from .models import AuditEvent
    name = getattr(user, "username", None) or str(user or "anonymous")
    row = AuditEvent.objects.create(user=clean(name, 150), event=clean(event, 40), clinic=clean(clinic, 100),
                                    document=clean(document), version=clean(version, 20),
                                    language=clean(language, 20), variant=clean(variant, 20),
                                    detail=clean(detail))
    LOGGER.info("audit %s user=%s event=%s clinic=%s document=%s version=%s language=%s variant=%s %s",
                row.at.isoformat(timespec="seconds"), row.user, row.event, row.clinic or "-", row.document or "-",
                row.version or "-", row.language or "-", row.variant or "-", row.detail)


class OneLine(logging.Filter):
    """Every record on the app's log is one line: a message's own line breaks are escaped."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "\n" in message or "\r" in message:
            record.msg, record.args = message.replace("\r", "\\r").replace("\n", "\\n"), None
        return True


class NoDetails(logging.Filter):
    """An error report names the exception's type and where it was raised, never its message or a traceback's
    text: either could quote what a user typed (a patient's name in a form)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[0] is not None:
            kind, _, tb = record.exc_info
            while tb is not None and tb.tb_next is not None:
                tb = tb.tb_next
            where = f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}" if tb is not None else "?"
            record.msg = f"{clean(record.getMessage())} ({kind.__name__} at {where})"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True
