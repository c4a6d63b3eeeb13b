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
