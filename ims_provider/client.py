"""``ImsClient``: one method per IMS call, with signing, timeouts, retries and project-id lookup.

One client is shared by the provider's worker threads, so everything mutable (the looked-up project
id, the job-API choice) is either guarded by a lock or a single idempotent assignment. Errors come out
as the types in :mod:`ims_provider.errors` (plus :class:`ImsConnectionError` for transport failures),
with every text passed through a redactor so no credential can reach a log or the Pulumi engine.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
import warnings
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from importlib import metadata
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.auth import AuthBase

from .config import ProviderConfig
from .errors import AmbiguousRequestError, ConfigError, ImsApiError, ImsConnectionError, ImsProviderError
from .redact import Redactor
from .retry import (
    POLICY,
    ErrorClass,
    Outcome,
    RetryPolicy,
    classify_exception,
    classify_response,
    outcome,
    outlives_waits,
    parse_retry_after,
)

__all__ = [
    "DEFAULT_TIMEOUT",
    "IMAGE_GONE_CODES",
    "NO_ROUTE_CODES",
    "ImsClient",
    "ImsConnectionError",
    "InsecureTLSWarning",
    "error_from_response",
]

log = logging.getLogger("ims_provider.http")

DEFAULT_TIMEOUT = (5.0, 60.0)  # (connect, read) seconds
JSON = "application/json"
JSON_UTF8 = "application/json;charset=UTF-8"
IMAGE_GONE_CODES = frozenset({"IMG.0027", "IMG.0086", "IMG.0144"})  # "image does not exist" variants
# The gateway does not offer this API: a 404 that says nothing of any image.
NO_ROUTE_CODES = frozenset({"APIGW.0101", "APIG.0101"})
_TAG_ACTIONS = frozenset({"create", "delete"})
_MAX_TEXT = 2000

try:
    _VERSION = metadata.version("ims-provider")
except metadata.PackageNotFoundError:  # running from a source tree that is not installed
    _VERSION = "0"
USER_AGENT = f"ims-provider/{_VERSION} python-requests/{requests.__version__}"


class InsecureTLSWarning(UserWarning):
    """TLS certificate verification is disabled (``ims:insecure``)."""


_insecure_lock = threading.Lock()
_insecure_warned = False
_debug_lock = threading.Lock()
_DEBUG_HANDLER = "ims_provider_debug"
CA_HINT = (
    "the server's TLS certificate is not trusted; for a private cloud set ims:caBundle (or IMS_CA_BUNDLE) "
    "to the file of its CA certificates"
)


def _enable_debug_log() -> None:
    """``ims:debug`` must show something: the dynamic host configures no logging, so debug lines would be
    dropped. Adds one stderr handler (lines reach the Pulumi CLI as info messages); every line is redacted
    before it is logged."""
    with _debug_lock:
        if any(h.get_name() == _DEBUG_HANDLER for h in log.handlers):
            return
        handler = logging.StreamHandler(sys.stderr)
        handler.set_name(_DEBUG_HANDLER)
        handler.setFormatter(logging.Formatter("ims-debug: %(message)s"))
        log.addHandler(handler)
        if log.level == logging.NOTSET or log.level > logging.DEBUG:
            log.setLevel(logging.DEBUG)


def _warn_insecure(endpoint: str) -> None:
    """Warn once per process: disabling verification must never go unnoticed."""
    global _insecure_warned
    with _insecure_lock:
        if _insecure_warned:
            return
        _insecure_warned = True
    warnings.warn(
        f"ims:insecure is true: TLS certificates are NOT verified for {endpoint} and the IAM endpoint; "
        "anyone on the network path can read the credentials. Use it only with a local emulator.",
        InsecureTLSWarning,
        stacklevel=3,
    )


def _truncate(text: str, limit: int = _MAX_TEXT) -> str:
    return text if len(text) <= limit else text[:limit] + f"... ({len(text) - limit} more chars)"


def _first_str(body: Mapping[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = body.get(key)
        if value is not None and value != "":
            return str(value)
    return None


def error_from_response(
    resp: requests.Response, *, method: str, path: str, redactor: Redactor | None = None
) -> ImsApiError:
    """Build an :class:`ImsApiError` from an IMS body (``{"error": {"code", "message"}}``), a gateway
    body (``{"error_code", "error_msg", "request_id"}``) or anything else (code = HTTP status)."""
    scrub = redactor or Redactor()
    code: str | None = None
    message: str | None = None
    request_id = resp.headers.get("X-Request-Id")
    try:
        body: Any = resp.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        nested = body.get("error")
        if isinstance(nested, dict):
            code = _first_str(nested, "code", "error_code")
            message = _first_str(nested, "message", "error_msg")
        elif isinstance(nested, str) and nested:
            message = nested
        code = code or _first_str(body, "error_code", "errorCode", "code")
        message = message or _first_str(body, "error_msg", "errorMsg", "message", "title")
        request_id = request_id or _first_str(body, "request_id")
    if message is None:
        text = resp.text.strip() if resp.content else ""
        message = " ".join(text.split()) or resp.reason or "no error message"
    return ImsApiError(
        resp.status_code,
        scrub.text(code or str(resp.status_code)),
        scrub.text(_truncate(message, 500)),
        method=method,
        path=path,
        request_id=request_id,
        retry_after=parse_retry_after(resp.headers.get("Retry-After")),
    )


def _describe_exception(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class ImsClient:
    """Thin, thread-safe IMS REST client. Responses are returned as parsed JSON (dicts and lists)."""

    def __init__(
        self,
        config: ProviderConfig,
        *,
        session: requests.Session | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    ) -> None:
        self.config = config
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._clock = clock
        self._timeout = timeout
        self._redactor = Redactor(config.secrets)
        self._verify: bool | str = False if config.insecure else (config.ca_bundle or True)
        if session is None:
            session = requests.Session()
            # One kept-alive connection per host worker (each runs one call at a time), so that no answer
            # is followed by "Connection pool is full, discarding connection" and a new TLS handshake.
            adapter = HTTPAdapter(pool_connections=4, pool_maxsize=config.max_parallel, max_retries=0)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
        session.auth = config.auth()
        session.verify = self._verify
        session.headers["Accept"] = JSON
        session.headers["User-Agent"] = USER_AGENT
        self._session = session
        self._endpoint = config.endpoint.rstrip("/")
        self._iam_endpoint = config.iam_endpoint.rstrip("/")
        self._lock = threading.Lock()
        self._project_id: str | None = config.project_id
        self._job_fallback = False
        if config.insecure:
            _warn_insecure(config.endpoint)
        if config.debug:
            _enable_debug_log()
            # Where each setting came from, without secret values: the first thing to check when a call fails.
            log.debug("configuration %s", config.describe())

    def __repr__(self) -> str:
        return f"ImsClient(endpoint={self._endpoint!r}, region={self.config.region!r})"

    @property
    def retry_policy(self) -> RetryPolicy:
        """The backoff this client uses, for callers that apply the rest of the policy (create)."""
        return self._retry

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> ImsClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- project id ------------------------------------------------------------------------------

    @property
    def project_id(self) -> str:
        """The configured project id, or the one IAM lists for the region (looked up once)."""
        known = self._project_id
        if known:
            return known
        with self._lock:
            if not self._project_id:
                self._project_id = self._lookup_project_id()
            return self._project_id

    def _lookup_project_id(self) -> str:
        """``GET {iam}/v3/projects?name=<region>``. Every failure that will not pass, an HTTP error included,
        is a ConfigError naming what to set: an ImsApiError here (a 404 from an IMS host asked as IAM, say)
        would otherwise be taken for an answer about the image being worked on. Throttling and an unavailable
        backend stay what they are, so that a wait outlives them."""
        region = self.config.region
        if not region:
            raise ConfigError("no project id configured and no region to look it up by: set ims:projectId")
        url = f"{self._iam_endpoint}/v3/projects"
        asked = f"IAM GET {url}?{urlencode({'name': region})}"
        try:
            resp = self._call("GET", url, params={"name": region}, idempotent=True, auth=self.config.auth())
        except ImsApiError as exc:
            if outlives_waits(exc):  # throttled or unavailable: a wait may still outlive it
                raise
            rid = f" (request id {exc.request_id})" if exc.request_id else ""
            raise self._lookup_failed(
                f"{asked} answered HTTP {exc.status} {exc.code}: {exc.message}{rid}"
            ) from None
        try:
            body = self._json(resp, "GET", "/v3/projects")
        except ImsProviderError as exc:
            raise self._lookup_failed(f"{asked}: {exc}") from None
        projects = body.get("projects") if isinstance(body, dict) else None
        if not isinstance(projects, list):
            raise self._lookup_failed(f"{asked} answered without a 'projects' list")
        matches = [p for p in projects if isinstance(p, dict) and p.get("id")]
        if len(matches) != 1:
            raise self._lookup_failed(
                f"{asked} lists {len(matches)} projects named {region!r} (expected exactly one)"
            )
        return str(matches[0]["id"])

    def _lookup_failed(self, reason: str) -> ConfigError:
        return ConfigError(
            f"no project id configured, and looking it up failed: {reason}; " + self.config.project_hint()
        )

    def _ims_auth(self) -> AuthBase:
        """AK/SK calls always carry X-Project-Id (as the SDK does); token calls are project-scoped."""
        if self.config.uses_aksk:
            return self.config.auth(project_id=self.project_id)
        return self.config.auth(project_id=self._project_id)

    # --- IMS calls -------------------------------------------------------------------------------

    def create_image(self, body: Mapping[str, Any]) -> str:
        """``POST /v2/cloudimages/action``; returns the job id. Never re-sent unless provably unsent."""
        return self._job("POST", "/v2/cloudimages/action", body, idempotent=False)

    def copy_image(self, image_id: str, body: Mapping[str, Any]) -> str:
        """``POST /v1/cloudimages/{id}/copy`` (within the region); returns the job id. It makes an image, so
        it is re-sent only when provably unsent, like a create."""
        return self._job("POST", f"/v1/cloudimages/{quote(image_id, safe='')}/copy", body, idempotent=False)

    def copy_image_cross_region(self, image_id: str, body: Mapping[str, Any]) -> str:
        """``POST /v1/cloudimages/{id}/cross_region_copy``; the job runs (and is polled) in this region."""
        path = f"/v1/cloudimages/{quote(image_id, safe='')}/cross_region_copy"
        return self._job("POST", path, body, idempotent=False)

    def add_members(self, image_ids: Sequence[str], project_ids: Sequence[str]) -> str:
        """``POST /v1/cloudimages/members``: share the images with the projects (adding a member twice changes
        nothing, so it is retried like a read)."""
        body = {"images": list(image_ids), "projects": list(project_ids)}
        return self._job("POST", "/v1/cloudimages/members", body, idempotent=True)

    def update_member(
        self, image_ids: Sequence[str], project_id: str, status: str, vault_id: str | None = None
    ) -> str:
        """``PUT /v1/cloudimages/members``: the member project accepts or rejects the images."""
        body: dict[str, Any] = {"images": list(image_ids), "project_id": project_id, "status": status}
        if vault_id:
            body["vault_id"] = vault_id
        return self._job("PUT", "/v1/cloudimages/members", body, idempotent=True)

    def delete_members(self, image_ids: Sequence[str], project_ids: Sequence[str]) -> str:
        """``DELETE /v1/cloudimages/members`` (with a body): stop sharing the images with the projects."""
        body = {"images": list(image_ids), "projects": list(project_ids)}
        return self._job("DELETE", "/v1/cloudimages/members", body, idempotent=True)

    def list_members(self, image_id: str) -> list[dict[str, Any]]:
        """``GET /v1/{project_id}/cloudimages/{id}/members``, every page (``page_info.next_marker``)."""
        path = f"/v1/{quote(self.project_id, safe='')}/cloudimages/{quote(image_id, safe='')}/members"
        members: list[dict[str, Any]] = []
        marker: str | None = None
        seen: set[str] = set()
        while True:
            params = {"limit": "1000", **({"marker": marker} if marker else {})}
            body = self._ims_dict("GET", path, params=params)
            members += [m for m in body.get("members") or [] if isinstance(m, dict)]
            page = body.get("page_info")
            marker = str(page.get("next_marker") or "") if isinstance(page, dict) else ""
            if not marker or marker in seen:
                return members
            seen.add(marker)

    def _job(self, method: str, path: str, body: Mapping[str, Any], *, idempotent: bool) -> str:
        resp = self._ims(method, path, body=body, idempotent=idempotent)
        data = self._json(resp, method, path)
        job_id = data.get("job_id") if isinstance(data, dict) else None
        if not job_id:
            raise ImsProviderError(f"{method} {path} answered without a job_id")
        return str(job_id)

    def get_job(self, job_id: str) -> dict[str, Any]:
        """The job, with IMS's free text (fail_reason, current_task, ...) redacted: it reaches errors and
        progress lines."""
        job: dict[str, Any] = self._redactor.data(self._get_job(job_id))
        return job

    def _get_job(self, job_id: str) -> dict[str, Any]:
        """``GET /v1/cloudimages/job/{id}``; if the gateway does not offer it (404), use the older
        ``GET /v1/{project_id}/jobs/{id}`` and keep using it for this client's lifetime."""
        jid = quote(job_id, safe="")
        if not self._job_fallback:
            try:
                return self._ims_dict("GET", f"/v1/cloudimages/job/{jid}")
            except ImsApiError as exc:
                if exc.status != 404:
                    raise
                primary = exc
            try:
                result = self._ims_dict("GET", f"/v1/{quote(self.project_id, safe='')}/jobs/{jid}")
            except ImsApiError as exc:
                if exc.status == 404 and exc.code in NO_ROUTE_CODES:
                    raise primary from None
                raise
            self._job_fallback = True
            return result
        return self._ims_dict("GET", f"/v1/{quote(self.project_id, safe='')}/jobs/{jid}")

    def get_image(self, image_id: str) -> dict[str, Any] | None:
        """``GET /v2/cloudimages?id=``; None when IMS lists no such image (deleted or never existed)."""
        body = self._ims_dict("GET", "/v2/cloudimages", params={"id": image_id})
        images = body.get("images") or []
        for image in images:
            if isinstance(image, dict) and image.get("id") == image_id:
                return image
        return None

    def list_images(self, **filters: str) -> list[dict[str, Any]]:
        """``GET /v2/cloudimages`` with filters, following ``marker`` paging (``limit`` = page size)."""
        params = dict(filters)
        page_size = int(params.pop("limit", "100"))
        if not 1 <= page_size <= 1000:
            raise ValueError("limit must be between 1 and 1000")
        marker = params.pop("marker", None)
        seen: set[str] = set()
        images: list[dict[str, Any]] = []
        while True:
            query = {**params, "limit": str(page_size)}
            if marker:
                query["marker"] = marker
            body = self._ims_dict("GET", "/v2/cloudimages", params=query)
            page = [i for i in body.get("images") or [] if isinstance(i, dict)]
            images.extend(page)
            page_info = body.get("page_info")
            next_marker = page_info.get("next_marker") if isinstance(page_info, dict) else None
            if not next_marker and page and len(page) >= page_size:
                next_marker = page[-1].get("id")
            if not next_marker or str(next_marker) in seen:
                return images
            marker = str(next_marker)
            seen.add(marker)

    def update_image(self, image_id: str, ops: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """``PATCH /v2/cloudimages/{id}`` with a JSON-patch-like array; returns the updated image."""
        return self._ims_dict(
            "PATCH", f"/v2/cloudimages/{quote(image_id, safe='')}", body=[dict(op) for op in ops]
        )

    def list_tags(self, image_id: str) -> list[dict[str, str]]:
        """``GET /v2/{project_id}/images/{id}/tags``."""
        body = self._ims_dict("GET", self._tags_path(image_id))
        return [
            {"key": str(t.get("key", "")), "value": str(t.get("value", ""))}
            for t in body.get("tags") or []
            if isinstance(t, dict)
        ]

    def tags_action(self, image_id: str, action: str, tags: Sequence[Mapping[str, str]]) -> None:
        """``POST /v2/{project_id}/images/{id}/tags/action`` (create or delete); idempotent, so retried."""
        if action not in _TAG_ACTIONS:
            raise ValueError(f"tag action must be 'create' or 'delete', not {action!r}")
        body = {"action": action, "tags": [{"key": t["key"], "value": t.get("value", "")} for t in tags]}
        self._ims("POST", f"{self._tags_path(image_id)}/action", body=body, idempotent=True)

    def delete_image(self, image_id: str) -> bool:
        """``DELETE /v2/images/{id}``; False when the image is already gone (404 or IMS "no such image")."""
        try:
            self._ims("DELETE", f"/v2/images/{quote(image_id, safe='')}")
        except ImsApiError as exc:
            if exc.code in NO_ROUTE_CODES:
                raise
            if exc.status == 404 or exc.code in IMAGE_GONE_CODES:
                return False
            raise
        return True

    def list_os_versions(self, tag: str | None = None) -> list[dict[str, Any]]:
        """``GET /v1/cloudimages/os_version[?tag=]``: the OS versions this region supports."""
        params = {"tag": tag} if tag else None
        resp = self._ims("GET", "/v1/cloudimages/os_version", params=params)
        data = self._json(resp, "GET", "/v1/cloudimages/os_version")
        if not isinstance(data, list):
            raise ImsProviderError("GET /v1/cloudimages/os_version did not answer with a list")
        return [d for d in data if isinstance(d, dict)]

    # --- plumbing --------------------------------------------------------------------------------

    def _tags_path(self, image_id: str) -> str:
        return f"/v2/{quote(self.project_id, safe='')}/images/{quote(image_id, safe='')}/tags"

    def _ims(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        idempotent: bool | None = None,
    ) -> requests.Response:
        if idempotent is None:
            idempotent = method in ("GET", "HEAD", "PUT", "DELETE", "OPTIONS")
        return self._call(
            method,
            self._endpoint + path,
            params=params,
            body=body,
            idempotent=idempotent,
            auth=self._ims_auth(),
        )

    def _ims_dict(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
    ) -> dict[str, Any]:
        # Only GET and PATCH use this; the same attribute patch applied twice leaves the same image.
        resp = self._ims(method, path, params=params, body=body, idempotent=True)
        data = self._json(resp, method, path)
        if not isinstance(data, dict):
            raise ImsProviderError(f"{method} {path} did not answer with a JSON object")
        return data

    def _json(self, resp: requests.Response, method: str, path: str) -> Any:
        if not resp.content:
            return {}
        try:
            return resp.json()
        except ValueError:
            raise ImsProviderError(
                f"{method} {path} answered HTTP {resp.status_code} with a body that is not JSON"
            ) from None

    def _call(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        idempotent: bool,
        auth: AuthBase,
    ) -> requests.Response:
        """Send with retries. Returns a 2xx response; raises ImsApiError, AmbiguousRequestError or
        ImsConnectionError."""
        path = urlsplit(url).path + (f"?{urlencode(params)}" if params else "")
        headers = {"Content-Type": JSON}
        data: bytes | None = None
        if body is not None:
            data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            headers["Content-Type"] = JSON_UTF8
        start = self._clock()
        attempt = 0
        failed: Counter[ErrorClass] = Counter()  # a class's own limit counts only its own failures
        while True:
            attempt += 1
            sent_at = self._clock()
            try:
                resp = self._session.request(
                    method,
                    url,
                    params=params,
                    data=data,
                    headers=headers,
                    auth=auth,
                    timeout=self._timeout,
                    verify=self._verify,
                    allow_redirects=False,  # a redirect must not carry tokens to another host
                )
            except requests.RequestException as exc:
                cause = self._redactor.text(_truncate(_describe_exception(exc), 600))
                self._debug("%s %s attempt %d failed: %s", method, path, attempt, cause)
                error_class = classify_exception(exc)
                failed[error_class] += 1
                decision = outcome(error_class, idempotent=idempotent)
                if decision is Outcome.AMBIGUOUS:
                    raise AmbiguousRequestError(method, path, cause) from None
                if decision is Outcome.RETRY:
                    handling = POLICY[error_class]
                    wait = self._retry.next_delay(
                        attempt, self._clock() - start, handling=handling, of_class=failed[error_class]
                    )
                    if wait is not None:
                        log.info("%s %s: %s; retrying in %.1fs", method, path, type(exc).__name__, wait)
                        self._sleep(wait)
                        continue
                if error_class is ErrorClass.UNTRUSTED:
                    cause = f"{cause} ({CA_HINT})"
                raise ImsConnectionError(
                    method, path, cause, attempt, retryable=POLICY[error_class].wait_outlives
                ) from None
            self._log_exchange(resp, attempt, self._clock() - sent_at)
            if 200 <= resp.status_code < 300:
                return resp
            error = error_from_response(resp, method=method, path=path, redactor=self._redactor)
            error_class = classify_response(resp.status_code, error.code, path)
            failed[error_class] += 1
            decision = outcome(error_class, idempotent=idempotent)
            if decision is Outcome.AMBIGUOUS:
                raise AmbiguousRequestError(
                    method, path, f"HTTP {error.status} {error.code}: {error.message}"
                ) from None
            if decision is Outcome.RETRY:
                handling = POLICY[error_class]
                wait = self._retry.next_delay(
                    attempt, self._clock() - start, error.retry_after, handling, of_class=failed[error_class]
                )
                if wait is not None:
                    log.info(
                        "%s %s: HTTP %d %s; retrying in %.1fs", method, path, error.status, error.code, wait
                    )
                    self._sleep(wait)
                    continue
            error.attempts = attempt
            raise error

    def _debug(self, msg: str, *args: object) -> None:
        if self.config.debug:
            log.debug(msg, *args)

    def _log_exchange(self, resp: requests.Response, attempt: int, elapsed: float) -> None:
        if not (self.config.debug and log.isEnabledFor(logging.DEBUG)):
            return
        req = resp.request
        scrub = self._redactor
        req_body = req.body.decode("utf-8", "replace") if isinstance(req.body, bytes) else str(req.body or "")
        log.debug(
            "%s %s (attempt %d) -> HTTP %d in %.3fs\n  request headers: %s\n  request body: %s\n"
            "  response headers: %s\n  response body: %s",
            req.method,
            scrub.text(req.url or ""),
            attempt,
            resp.status_code,
            elapsed,
            scrub.headers(req.headers),
            scrub.text(_truncate(req_body)),
            scrub.headers(resp.headers),
            scrub.text(_truncate(resp.text if resp.content else "")),
        )
