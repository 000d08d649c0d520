"""Request authentication for IMS: AK/SK signing (SDK-HMAC-SHA256) and IAM tokens.

Both classes are ``requests`` auth objects, so a ``requests.Session`` signs every request it sends,
including each retry (``requests`` prepares a request afresh per send, so every attempt gets a fresh
``X-Sdk-Date``). The signing maths is kept in pure functions (:func:`canonical_request`,
:func:`signature`) so it can be checked against the published vectors and against
``huaweicloudsdkcore``'s ``Signer`` without any HTTP.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone
from urllib.parse import parse_qsl, quote, unquote, urlsplit, urlunsplit

import requests
from requests.auth import AuthBase

__all__ = [
    "ALGORITHM",
    "DATE_FORMAT",
    "EMPTY_BODY_SHA256",
    "AkSkAuth",
    "TokenAuth",
    "authorization_header",
    "canonical_query",
    "canonical_request",
    "canonical_uri",
    "host_header",
    "signature",
    "signed_header_names",
    "string_to_sign",
]

ALGORITHM = "SDK-HMAC-SHA256"
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
EMPTY_BODY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
HEADER_DATE = "X-Sdk-Date"
HEADER_CONTENT_SHA256 = "X-Sdk-Content-Sha256"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"

# Headers a proxy or the HTTP stack may add, drop or rewrite on the way; signing them would make a
# valid request fail verification. Content-Length is recomputed by requests after auth runs.
_UNSIGNED_HEADERS = frozenset(
    {
        "authorization",
        "connection",
        "content-length",
        "keep-alive",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
_DEFAULT_PORTS = {"http": 80, "https": 443}

HeaderValue = str | bytes


def _quote(value: str) -> str:
    """Percent-encode like the SDK's ``Signer._url_encode`` (everything but unreserved chars)."""
    return quote(value, safe="~")


def _header_text(value: HeaderValue) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _get_header(headers: Mapping[str, HeaderValue], name: str) -> str | None:
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return _header_text(value)
    return None


def canonical_uri(path: str) -> str:
    """CanonicalURI: decode the path, re-encode each segment, always end with ``/`` (as the SDK does)."""
    encoded = "/".join(_quote(segment) for segment in unquote(path).split("/"))
    if not encoded.endswith("/"):
        encoded += "/"
    return encoded


def canonical_query(pairs: Iterable[tuple[str, str]]) -> str:
    """CanonicalQueryString: decoded (key, value) pairs sorted, each side encoded, joined by ``&``."""
    return "&".join(f"{_quote(k)}={_quote(v)}" for k, v in sorted(pairs))


def _query_pairs(query: str) -> list[tuple[str, str]]:
    return parse_qsl(query, keep_blank_values=True)


def signed_header_names(headers: Mapping[str, HeaderValue]) -> list[str]:
    """Lower-cased, sorted names of the headers that get signed (the SDK skips names with ``_``)."""
    return sorted({key.lower() for key in headers if "_" not in key})


def _payload_hash(headers: Mapping[str, HeaderValue], body: bytes | str | None) -> str:
    if not body:
        return EMPTY_BODY_SHA256
    declared = _get_header(headers, HEADER_CONTENT_SHA256)
    if declared:
        return declared
    data = body.encode("utf-8") if isinstance(body, str) else body
    return hashlib.sha256(data).hexdigest()


def canonical_request(
    method: str, url: str, headers: Mapping[str, HeaderValue], body: bytes | str | None
) -> tuple[str, str]:
    """Return ``(canonical request, signed headers)`` for a request exactly as it goes on the wire.

    ``headers`` must be the set to sign, including ``Host`` and ``X-Sdk-Date``.
    """
    parts = urlsplit(url)
    names = signed_header_names(headers)
    values: dict[str, str] = {}
    for key, value in headers.items():
        values[key.lower()] = _header_text(value).strip()
    header_block = "".join(f"{name}:{values[name]}\n" for name in names)
    signed = ";".join(names)
    text = "\n".join(
        [
            method.upper(),
            canonical_uri(parts.path or "/"),
            canonical_query(_query_pairs(parts.query)),
            header_block,
            signed,
            _payload_hash(headers, body),
        ]
    )
    return text, signed


def string_to_sign(canonical: str, sdk_date: str) -> str:
    """``SDK-HMAC-SHA256\\n<date>\\nhex(sha256(canonical request))``; the date is re-rendered like the SDK."""
    when = datetime.strptime(sdk_date, DATE_FORMAT)
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return f"{ALGORITHM}\n{when.strftime(DATE_FORMAT)}\n{digest}"


def signature(
    method: str,
    url: str,
    headers: Mapping[str, HeaderValue],
    body: bytes | str | None,
    secret_key: str,
) -> tuple[str, str]:
    """Return ``(signed headers, hex signature)``; the date comes from the ``X-Sdk-Date`` header."""
    sdk_date = _get_header(headers, HEADER_DATE)
    if sdk_date is None:
        raise ValueError(f"cannot sign a request without an {HEADER_DATE} header")
    canonical, signed = canonical_request(method, url, headers, body)
    mac = hmac.new(
        secret_key.encode("utf-8"), string_to_sign(canonical, sdk_date).encode("utf-8"), hashlib.sha256
    )
    return signed, mac.hexdigest()


def authorization_header(access_key: str, signed_headers: str, hex_signature: str) -> str:
    return f"{ALGORITHM} Access={access_key}, SignedHeaders={signed_headers}, Signature={hex_signature}"


def host_header(url: str) -> str:
    """The ``Host`` value for ``url``: host plus port only when the port is not the scheme's default."""
    parts = urlsplit(url)
    hostname = parts.hostname or ""
    host = f"[{hostname}]" if ":" in hostname else hostname
    port = parts.port
    if port is not None and port != _DEFAULT_PORTS.get(parts.scheme.lower()):
        host = f"{host}:{port}"
    return host


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def _wire_value(value: str) -> str:
    """Strip a header value and make non-latin-1 text survive http.client (UTF-8 bytes on the wire),
    as the SDK does; the signature covers the original text."""
    return value.strip().encode("utf-8").decode("iso-8859-1")


class AkSkAuth(AuthBase):
    """Sign requests with an access key / secret key pair the way ``huaweicloudsdkcore`` does.

    Adds ``X-Sdk-Date``, ``Host``, ``X-Project-Id`` (when known), ``X-Security-Token`` (temporary
    credentials), then ``Authorization``. The query string is rewritten to its canonical form, as the
    SDK does, so the gateway sees exactly the string that was signed.
    """

    def __init__(
        self,
        access_key: str,
        secret_key: str,
        *,
        project_id: str | None = None,
        security_token: str | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        if not access_key or not secret_key:
            raise ValueError("AkSkAuth needs both an access key and a secret key")
        self.access_key = access_key
        self._secret_key = secret_key
        self.project_id = project_id
        self._security_token = security_token
        self._now = now or _utc_now

    def __repr__(self) -> str:
        token = ", security_token=<set>" if self._security_token else ""
        return f"AkSkAuth(access_key={self.access_key!r}, project_id={self.project_id!r}{token})"

    __str__ = __repr__

    def _date(self) -> str:
        now = self._now()
        now = now.replace(tzinfo=timezone.utc) if now.tzinfo is None else now.astimezone(timezone.utc)
        return now.strftime(DATE_FORMAT)

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        if r.url is None or r.method is None:
            raise ValueError("AkSkAuth needs a prepared request with a method and URL")
        body = r.body
        if isinstance(body, str):
            body = body.encode("utf-8")
            r.body = body
        if body is not None and not isinstance(body, bytes):
            raise TypeError("AkSkAuth can only sign bytes or str bodies, not a stream")

        parts = urlsplit(r.url)
        r.url = urlunsplit(
            (parts.scheme, parts.netloc, parts.path or "/", canonical_query(_query_pairs(parts.query)), "")
        )
        headers = r.headers
        headers.pop("Authorization", None)
        headers[HEADER_DATE] = self._date()
        headers["Host"] = host_header(r.url)
        if self.project_id:
            headers["X-Project-Id"] = self.project_id
        if self._security_token:
            headers["X-Security-Token"] = self._security_token
        content_type = headers.get("Content-Type")
        if content_type and not content_type.startswith(("application/json", "application/bson")):
            headers[HEADER_CONTENT_SHA256] = UNSIGNED_PAYLOAD

        to_sign: dict[str, HeaderValue] = {}
        for key in list(headers):
            original = headers[key]
            if key.lower() not in _UNSIGNED_HEADERS:
                to_sign[key] = original
            if isinstance(original, str):
                headers[key] = _wire_value(original)
        signed, hex_signature = signature(r.method, r.url, to_sign, body, self._secret_key)
        headers["Authorization"] = authorization_header(self.access_key, signed, hex_signature)
        return r


class TokenAuth(AuthBase):
    """Authenticate with an IAM token (``X-Auth-Token``), e.g. one minted by ``POST /v3/auth/tokens``."""

    def __init__(self, token: str, *, project_id: str | None = None) -> None:
        if not token:
            raise ValueError("TokenAuth needs a token")
        self._token = token
        self.project_id = project_id

    def __repr__(self) -> str:
        return f"TokenAuth(token=<set>, project_id={self.project_id!r})"

    __str__ = __repr__

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        r.headers["X-Auth-Token"] = self._token
        if self.project_id:
            r.headers["X-Project-Id"] = self.project_id
        return r
