"""An independent verifier of Huawei Cloud's SDK-HMAC-SHA256 request signatures (API Gateway's AK/SK check).

Written from the published algorithm, not from the SDK: canonical request, string to sign and HMAC, plus
the gateway's rules on the Authorization header, signed headers and the X-Sdk-Date window.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

ALGORITHM = "SDK-HMAC-SHA256"
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
EMPTY_HASH = hashlib.sha256(b"").hexdigest()
MAX_SKEW = timedelta(minutes=15)
_AUTH_RE = re.compile(
    r"^SDK-HMAC-SHA256\s+Access=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-fA-F]+)\s*$"
)


class SignatureError(Exception):
    """The request's AK/SK authentication is missing or wrong; the message says why (no secrets)."""


@dataclass(frozen=True)
class Authorization:
    access_key: str
    signed_headers: tuple[str, ...]
    signature: str


def parse_authorization(value: str) -> Authorization:
    match = _AUTH_RE.match(value.strip())
    if match is None:
        raise SignatureError(
            "the Authorization header is not SDK-HMAC-SHA256 Access, SignedHeaders, Signature"
        )
    signed = tuple(match.group(2).split(";"))
    if any(not h or h != h.lower() for h in signed) or list(signed) != sorted(signed):
        raise SignatureError("SignedHeaders must be lower-case, sorted and separated by ';'")
    return Authorization(match.group(1), signed, match.group(3).lower())


def _encode(text: str) -> str:
    return quote(text, safe="~")


def canonical_uri(path: str) -> str:
    """Each decoded path segment percent-encoded (only '~' kept), always ending with '/'."""
    uri = "/".join(_encode(segment) for segment in path.split("/"))
    return uri if uri.endswith("/") else uri + "/"


def canonical_query(pairs: Iterable[tuple[str, str]]) -> str:
    """Decoded query pairs sorted by key then value, each side percent-encoded, joined by '&'."""
    return "&".join(f"{_encode(k)}={_encode(v)}" for k, v in sorted(pairs))


def payload_hash(body: bytes, headers: Mapping[str, str]) -> str:
    if not body:
        return EMPTY_HASH
    declared = headers.get("x-sdk-content-sha256")
    if declared:
        return declared
    return hashlib.sha256(body).hexdigest()


def canonical_request(
    method: str,
    path: str,
    query: Iterable[tuple[str, str]],
    headers: Mapping[str, str],
    signed_headers: Iterable[str],
    body: bytes,
) -> str:
    """`headers` maps lower-case names to values; every signed header must be present."""
    names = list(signed_headers)
    lines = "".join(f"{name}:{headers[name].strip()}\n" for name in names)
    return "\n".join(
        [
            method.upper(),
            canonical_uri(path),
            canonical_query(query),
            lines,
            ";".join(names),
            payload_hash(body, headers),
        ]
    )


def string_to_sign(canonical: str, sdk_date: str) -> str:
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{sdk_date}\n{digest}"


def signature(secret_key: str, to_sign: str) -> str:
    return hmac.new(secret_key.encode("utf-8"), to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def verify(
    *,
    method: str,
    path: str,
    query: Iterable[tuple[str, str]],
    headers: Mapping[str, str],
    body: bytes,
    credentials: Mapping[str, str],
    now: datetime | None = None,
) -> str:
    """Check one request; returns the access key, or raises SignatureError.

    `headers` maps lower-case names to values; `credentials` maps access keys to secret keys.
    """
    raw = headers.get("authorization")
    if not raw:
        raise SignatureError("no Authorization header and no X-Auth-Token")
    auth = parse_authorization(raw)
    for required in ("host", "x-sdk-date"):
        if required not in auth.signed_headers:
            raise SignatureError(f"the {required} header must be signed")
    if "x-security-token" in headers and "x-security-token" not in auth.signed_headers:
        raise SignatureError("the x-security-token header must be signed")
    missing = [h for h in auth.signed_headers if h not in headers]
    if missing:
        raise SignatureError(f"signed header {missing[0]} is not in the request")
    sdk_date = headers["x-sdk-date"].strip()
    try:
        signed_at = datetime.strptime(sdk_date, DATE_FORMAT).replace(tzinfo=timezone.utc)
    except ValueError:
        raise SignatureError("X-Sdk-Date is not in the form YYYYMMDDTHHMMSSZ") from None
    current = now or datetime.now(timezone.utc)
    if abs(current - signed_at) > MAX_SKEW:
        raise SignatureError("X-Sdk-Date is more than 15 minutes away from the server time")
    secret = credentials.get(auth.access_key)
    if secret is None:
        raise SignatureError("the access key does not exist")
    canonical = canonical_request(method, path, query, headers, auth.signed_headers, body)
    expected = signature(secret, string_to_sign(canonical, sdk_date))
    if not hmac.compare_digest(expected, auth.signature):
        raise SignatureError("verify aksk signature fail")
    return auth.access_key
