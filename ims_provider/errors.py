"""Exceptions raised by ims_provider.

Every message is built from non-secret facts only (IDs, codes, reasons), so an exception can be
printed, logged or shown by the Pulumi engine without leaking credentials.
"""

from __future__ import annotations

from typing import Any

import requests


class ImsProviderError(Exception):
    """Base class of every error this package raises on purpose."""


class ConfigError(ImsProviderError):
    """The provider configuration is missing or invalid."""


class ImsApiError(ImsProviderError):
    """IMS (or the API gateway in front of it) answered with an error status."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        method: str = "",
        path: str = "",
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.method = method
        self.path = path
        self.request_id = request_id
        self.retry_after = retry_after
        self.attempts = 1  # how many times the call was sent before this answer was final
        where = f"{method} {path}: " if method else ""
        rid = f" (request id {request_id})" if request_id else ""
        super().__init__(f"{where}HTTP {status} {code}: {message}{rid}")


class AmbiguousRequestError(ImsProviderError):
    """A non-idempotent request failed in a way that leaves unknown whether IMS processed it."""

    def __init__(self, method: str, path: str, cause: str) -> None:
        self.method = method
        self.path = path
        self.cause = cause
        super().__init__(f"{method} {path}: the outcome is unknown ({cause})")


class JobFailedError(ImsProviderError):
    """An IMS asynchronous job (or one of its sub-jobs) ended in FAIL."""

    def __init__(
        self,
        job_id: str,
        error_code: str | None,
        fail_reason: str | None,
        sub_failures: list[dict[str, Any]] | None = None,
        cleaned_up: list[str] | None = None,
        left_behind: list[str] | None = None,
    ) -> None:
        self.job_id = job_id
        self.error_code = error_code
        self.fail_reason = fail_reason
        self.sub_failures = sub_failures or []
        self.cleaned_up = cleaned_up or []
        self.left_behind = left_behind or []
        reason = fail_reason or "no reason given"
        parts = [f"IMS job {job_id} failed: {error_code or 'no error code'}: {reason}"]
        for sub in self.sub_failures:
            parts.append(
                f"sub-job {sub.get('job_id')}: {sub.get('error_code') or 'no error code'}: "
                f"{sub.get('fail_reason') or 'no reason given'}"
            )
        if self.cleaned_up:
            parts.append("deleted the images the job did make: " + ", ".join(self.cleaned_up))
        if self.left_behind:
            parts.append(
                "could NOT delete the images " + ", ".join(self.left_behind) + " the job made: delete them "
                "by hand (they are not in the Pulumi state)"
            )
        super().__init__("; ".join(parts))


class IncompleteJobError(ImsProviderError):
    """A job succeeded, but an image the request asked for cannot be found (or it made one nobody asked
    for); the images it did make were deleted so that nothing is left untracked."""

    def __init__(
        self,
        job_id: str,
        missing: list[str],
        unexpected: list[str],
        cleaned_up: list[str],
        left_behind: list[str],
        differing: list[str] | None = None,
    ) -> None:
        self.job_id = job_id
        self.missing = missing
        self.unexpected = unexpected
        self.cleaned_up = cleaned_up
        self.left_behind = left_behind
        parts = [f"IMS job {job_id} succeeded, but its images do not match the request"]
        if missing:
            parts.append("no image was reported or found for: " + ", ".join(missing))
        for note in differing or []:
            parts.append(f"{note}, so it is not taken for this request and was left alone")
        if unexpected:
            parts.append("it reported images the request did not ask for: " + ", ".join(unexpected))
        parts.append("deleted the images it did make: " + (", ".join(cleaned_up) or "none"))
        if left_behind:
            parts.append(
                "could NOT delete the images "
                + ", ".join(left_behind)
                + ": delete them by hand (they are not in "
                "the Pulumi state)"
            )
        parts.append("run `pulumi up` again to make the images anew")
        super().__init__("; ".join(parts))


class JobNotFoundError(ImsProviderError):
    """IMS accepted a create as a job, but its job APIs do not know the job: the image may still be made."""

    def __init__(self, job_id: str, waited: float, *, request: str = "create", advice: str = "") -> None:
        self.job_id = job_id
        self.waited = waited
        super().__init__(
            f"IMS accepted the {request} request as job {job_id}, but neither job API has known that job "
            f"for {waited:.0f}s (404). "
            + (
                advice
                or "IMS may still make the image. Run `pulumi up` again with the same inputs: the provider "
                "finds that image and adopts it instead of creating another one."
            )
        )


class WaitTimeoutError(ImsProviderError):
    """A wait ran past its deadline."""

    def __init__(self, what: str, elapsed: float, last: Any = None, hint: str = "") -> None:
        self.what = what
        self.elapsed = elapsed
        self.last = last
        msg = f"timed out after {elapsed:.0f}s waiting for {what}"
        super().__init__(f"{msg}. {hint}" if hint else msg)


class ImsConnectionError(ImsProviderError, requests.exceptions.ConnectionError):
    """IMS could not be reached (connection, TLS or timeout failure), after any safe retries.

    Also a ``requests.ConnectionError`` so code that treats transport errors as transient keeps
    working; ``retryable`` is False for failures that waiting will not fix (e.g. a bad certificate).
    The original exception is not chained: it holds the prepared request, headers and all.
    """

    def __init__(self, method: str, path: str, cause: str, attempts: int, *, retryable: bool = True) -> None:
        tries = f" after {attempts} attempts" if attempts > 1 else ""
        super().__init__(f"{method} {path}: could not reach IMS{tries}: {cause}")
        self.method = method
        self.path = path
        self.cause = cause
        self.attempts = attempts
        self.retryable = retryable
