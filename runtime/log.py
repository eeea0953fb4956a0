"""Structured logging: one line per event, as JSON (``-log-json``) or as ``key=value`` text.

What lives here: `get_logger(name)` returning a small wrapper whose methods take an event name and
keyword fields (``log.info("leader elected", term=3)``), the two formatters, and `configure(level, json)`.
It sits on the standard ``logging`` module so libraries' records come out in the same format.

What must never live here: secrets. Callers must not pass tokens or keys as fields; the formatter does
not know what is secret.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import msgspec

_LEVELS = {"TRACE": 5, "DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARN": logging.WARNING,
           "WARNING": logging.WARNING, "ERR": logging.ERROR, "ERROR": logging.ERROR}
logging.addLevelName(5, "TRACE")


class StructLogger:
    """A thin front for ``logging.Logger`` that carries keyword fields with each record."""

    __slots__ = ("_logger",)

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger

    def _log(self, level: int, event: str, fields: dict[str, Any]) -> None:
        if self._logger.isEnabledFor(level):
            self._logger.log(level, event, extra={"fields": fields}, stacklevel=3)

    def trace(self, event: str, **fields: Any) -> None:
        self._log(5, event, fields)

    def debug(self, event: str, **fields: Any) -> None:
        self._log(logging.DEBUG, event, fields)

    def info(self, event: str, **fields: Any) -> None:
        self._log(logging.INFO, event, fields)

    def warning(self, event: str, **fields: Any) -> None:
        self._log(logging.WARNING, event, fields)

    def error(self, event: str, **fields: Any) -> None:
        self._log(logging.ERROR, event, fields)


def get_logger(name: str) -> StructLogger:
    return StructLogger(logging.getLogger(f"proconsul.{name}"))


class JsonFormatter(logging.Formatter):
    """``{"@timestamp": ..., "@level": ..., "@module": ..., "@message": ..., <fields>}`` like Consul's -log-json."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "@timestamp": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "@level": record.levelname.lower(),
            "@module": record.name,
            "@message": record.getMessage(),
        }
        doc.update(getattr(record, "fields", {}))
        if record.exc_info:
            doc["error"] = self.formatException(record.exc_info)
        return msgspec.json.encode(doc, enc_hook=str).decode()


class TextFormatter(logging.Formatter):
    """``2026-11-22T10:00:00 [INFO]  proconsul.raft: leader elected: term=3`` like Consul's text logs."""

    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "fields", {})
        tail = " ".join(f"{k}={_text(v)}" for k, v in fields.items())
        line = f"{self.formatTime(record, '%Y-%m-%dT%H:%M:%S')} [{record.levelname}] {record.name}: {record.getMessage()}"
        if tail:
            line += ": " + tail
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def _text(value: Any) -> str:
    text = str(value)
    return f'"{text}"' if (" " in text or not text) else text


def parse_level(name: str) -> int:
    try:
        return _LEVELS[name.upper()]
    except KeyError:
        raise ValueError(f"invalid log level {name!r}: expected one of trace, debug, info, warn, error") from None


def configure(level: str = "INFO", json: bool = False, stream: Any = None) -> None:
    """Route every ``proconsul.*`` record to ``stream`` (stderr by default) in the chosen format."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if json else TextFormatter())
    root = logging.getLogger("proconsul")
    root.handlers[:] = [handler]
    root.setLevel(parse_level(level))
    root.propagate = False
