"""`AdminClient`: a small typed client for the emulator's /_emulator/ admin API.

Tests, benchmarks and examples use it to seed resources, inject faults, drive the clock and read the
request log without knowing the admin URLs.
"""

from __future__ import annotations

from typing import Any

import requests


class AdminError(Exception):
    """The admin API refused a call; the message is the emulator's explanation."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status


class AdminClient:
    def __init__(
        self, base_url: str, *, timeout: float = 10.0, session: requests.Session | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._session = session or requests.Session()

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        response = self._session.request(
            method, f"{self.base_url}/_emulator{path}", json=body, timeout=self.timeout
        )
        payload = response.json() if response.content else None
        if response.status_code >= 400:
            message = payload.get("error") if isinstance(payload, dict) else response.text
            raise AdminError(response.status_code, str(message))
        return payload

    # resources; every call takes `region=` (default: the home region) and `account=` (default: "default")
    def add_server(self, **spec: Any) -> dict[str, Any]:
        """`id?, name?, status (SHUTOFF|ACTIVE), system_volume? {id?, size, os_version}, data_volumes?`."""
        result: dict[str, Any] = self._call("POST", "/servers", spec)
        return result

    def set_server_status(self, server_id: str, status: str, **placement: str) -> dict[str, Any]:
        body = {"status": status, **placement}
        result: dict[str, Any] = self._call("PATCH", f"/servers/{server_id}", body)
        return result

    def add_volume(self, **spec: Any) -> dict[str, Any]:
        """`id?, size, os_version? (a data disk holding an OS), server_id? (attach as data disk)`."""
        result: dict[str, Any] = self._call("POST", "/volumes", spec)
        return result

    def add_object(self, **spec: Any) -> dict[str, Any]:
        """`bucket, key, size_gb?, storage_class? ("STANDARD"|"WARM"|"COLD"|"DEEP_ARCHIVE"), format?`."""
        result: dict[str, Any] = self._call("POST", "/objects", spec)
        return result

    def add_vault(self, **spec: Any) -> dict[str, Any]:
        """A CBR vault: `id?, kind? ("replication", the default, | "backup")`."""
        result: dict[str, Any] = self._call("POST", "/vaults", spec)
        return result

    def add_image(self, **spec: Any) -> dict[str, Any]:
        """Plant an active image the API cannot make (public, full-ECS, encrypted, ISO, large; see README)."""
        result: dict[str, Any] = self._call("POST", "/images", spec)
        return result

    # accounts
    def accounts(self) -> list[dict[str, Any]]:
        """Every account: name, access_key, domain_id, projects by region, agencies (never the secret key)."""
        result: list[dict[str, Any]] = self._call("GET", "/accounts")["accounts"]
        return result

    def add_account(self, **spec: Any) -> dict[str, Any]:
        """`name, access_key, secret_key, domain_id?, projects? {region: id}, agencies?, auth_token?`."""
        result: dict[str, Any] = self._call("POST", "/accounts", spec)
        return result

    def add_agency(self, account: str, name: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", f"/accounts/{account}/agencies", {"name": name})
        return result

    # faults
    def add_fault(self, **spec: Any) -> str:
        """Inject a fault (see the README for the fields); returns its id."""
        result: dict[str, Any] = self._call("POST", "/faults", spec)
        return str(result["id"])

    def faults(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._call("GET", "/faults")["faults"]
        return result

    def delete_fault(self, fault_id: str) -> None:
        self._call("DELETE", f"/faults/{fault_id}")

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def throttle(self, *, method: str = "*", path: str = ".*", count: int = 1) -> str:
        """The next `count` matching requests get 429 APIGW.0308."""
        return self.add_fault(kind="status", status=429, method=method, path=path, count=count)

    def fail_next_job(
        self, error_code: str = "IMG.0061", fail_reason: str = "Injected failure", count: int = 1
    ) -> str:
        return self.add_fault(kind="job_fail", error_code=error_code, fail_reason=fail_reason, count=count)

    def hang_next_job(self, count: int = 1) -> str:
        return self.add_fault(kind="job_hang", count=count)

    # request log
    def requests(
        self, *, method: str | None = None, path: str | None = None, region: str | None = None
    ) -> list[dict[str, Any]]:
        """Logged IMS/IAM calls, oldest first; optionally only those with this method, exact path, region."""
        entries: list[dict[str, Any]] = self._call("GET", "/requests")["requests"]
        return [
            e
            for e in entries
            if (method is None or e["method"] == method.upper())
            and (path is None or e["path"] == path)
            and (region is None or e["region"] == region)
        ]

    def clear_requests(self) -> None:
        self._call("DELETE", "/requests")

    # clock
    def clock(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/clock")
        return result

    def set_clock(self, mode: str, *, scale: float | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"mode": mode}
        if scale is not None:
            body["scale"] = scale
        result: dict[str, Any] = self._call("POST", "/clock", body)
        return result

    def advance(self, seconds: float) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", "/clock/advance", {"seconds": seconds})
        return result

    # settings and state
    def settings(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/settings")
        return result

    def update_settings(self, **changes: Any) -> dict[str, Any]:
        """job_seconds, progress_profile, data_image_report, image_quota, activation_seconds, delete_seconds,
        auth_token, member_job_seconds, member_quota, copy_marks."""
        result: dict[str, Any] = self._call("PUT", "/settings", changes)
        return result

    def state(self, region: str | None = None) -> dict[str, Any]:
        """Everything (every item carries its `region`), or only what one region holds."""
        result: dict[str, Any] = self._call("GET", "/state" + (f"?region={region}" if region else ""))
        return result

    def reset(self) -> None:
        self._call("POST", "/reset")

    def health(self) -> bool:
        try:
            return bool(self._call("GET", "/health")["status"] == "ok")
        except (requests.RequestException, AdminError):
            return False
