"""Scrubbing of credentials from text and headers before anything is logged or raised.

Messages from IMS or the gateway are echoed into exceptions; a server (or a proxy error page) could
echo a header back, so every such text passes through a :class:`Redactor` that knows the secrets.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["MASK", "SENSITIVE_HEADERS", "Redactor"]

MASK = "***"
SENSITIVE_HEADERS = frozenset(
    {
        "authorization",
        "cookie",
        "proxy-authorization",
        "set-cookie",
        "x-auth-token",
        "x-security-token",
        "x-subject-token",
    }
)
_SIGNATURE = re.compile(r"(Signature=)[0-9A-Fa-f]+")
_AKSK_AUTH = re.compile(r"^SDK-HMAC-SHA256 Access=[^,]*, SignedHeaders=[^,]*, Signature=")
# Shorter "secrets" would mask ordinary words; real keys and tokens are far longer.
_MIN_SECRET_LENGTH = 6


class Redactor:
    """Replace known secret values (and signatures) in text and header maps with ``***``."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        unique = {s for s in secrets if s and len(s) >= _MIN_SECRET_LENGTH}
        self._secrets = tuple(sorted(unique, key=len, reverse=True))

    def __repr__(self) -> str:
        return f"Redactor({len(self._secrets)} secrets)"

    def text(self, value: str) -> str:
        for secret in self._secrets:
            value = value.replace(secret, MASK)
        return _SIGNATURE.sub(rf"\g<1>{MASK}", value)

    def data(self, value: Any) -> Any:
        """Every string inside a JSON value, redacted: for service-written free text (a job's fail_reason)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {key: self.data(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.data(item) for item in value]
        return value

    def header_value(self, name: str, value: str | bytes) -> str:
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        if name.lower() == "authorization" and _AKSK_AUTH.match(text):
            # Keep Access and SignedHeaders: they are what one needs to debug a signature mismatch.
            return self.text(text)
        if name.lower() in SENSITIVE_HEADERS:
            return MASK
        return self.text(text)

    def headers(self, headers: Mapping[str, str | bytes]) -> dict[str, str]:
        return {name: self.header_value(name, value) for name, value in headers.items()}
