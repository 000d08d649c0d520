"""Small HTTP helpers shared by the IMS and admin routes: JSON bodies, error bodies, dropped connections."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import socket
from collections.abc import Mapping
from typing import Any

from werkzeug.wrappers import Request, Response

from ims_provider.emulator.errors import bad_request

JSON = "application/json"
JSON_PATCH_TYPES = (
    "application/openstack-images-v2.1-json-patch",
    "application/openstack-images-v2.0-json-patch",
)


def json_response(payload: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return Response(data, status=status, headers=dict(headers or {}), content_type=JSON)


def no_content() -> Response:
    response = Response(status=204)
    del response.headers["Content-Type"]
    return response


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json(body: bytes) -> Any:
    """Decoded JSON, None for an empty body, or IMS's IMG.0001 for anything that is not JSON."""
    if not body.strip():
        return None
    try:
        return json.loads(body.decode("utf-8"), parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise bad_request("IMG.0001", "The request body is not valid JSON.") from None


def require_json(request: Request, *, patch: bool = False) -> None:
    """POST/PATCH bodies must be declared as JSON (or as a JSON patch for PATCH)."""
    mimetype = request.mimetype
    if mimetype == JSON or (patch and mimetype in JSON_PATCH_TYPES):
        return
    raise bad_request(
        "IMG.0001", f"Unsupported Content-Type {request.content_type or '(none)'}; use application/json."
    )


def loggable_body(body: bytes) -> Any:
    """The request body as the request log shows it: parsed JSON when possible, else text."""
    if not body:
        return None
    try:
        return json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):
        return body.decode("utf-8", errors="replace")


def is_loopback(address: str | None) -> bool:
    if address in (None, "", "<local>"):
        return True
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def drop_connection(environ: Mapping[str, Any]) -> bool:
    """Close the client's TCP connection without an HTTP response; False when the server gives no socket."""
    sock = environ.get("werkzeug.socket")
    if not isinstance(sock, socket.socket):
        return False
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    return True
