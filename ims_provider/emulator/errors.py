"""Error types the emulator answers with: IMS service errors and API-gateway errors.

They carry exactly what goes on the wire, so the HTTP layer only has to serialise them.
"""

from __future__ import annotations

from typing import Any


class ImsError(Exception):
    """An IMS service error: HTTP status plus the `{"error": {"code", "message"}}` body."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message}}


class GatewayError(Exception):
    """An API-gateway error (APIGW.xxxx); its body has a different, flat shape."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message

    def body(self, request_id: str) -> dict[str, Any]:
        return {"error_code": self.code, "error_msg": self.message, "request_id": request_id}


def bad_request(code: str, message: str) -> ImsError:
    """Shorthand for the common 400 IMS error."""
    return ImsError(400, code, message)
