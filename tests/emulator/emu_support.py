"""Helpers for the emulator tests: requests signed by huaweicloudsdkcore's own Signer (the reference
implementation, so the emulator's verifier is checked against Huawei's code, not against itself).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.http.http_config import HttpConfig
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer
from huaweicloudsdkims.v2 import ImsClient

from ims_provider.emulator import AdminClient, EmulatorServer


class _Creds:
    def __init__(self, ak: str, sk: str) -> None:
        self.ak, self.sk = ak, sk


class SdkSignedAuth(requests.auth.AuthBase):
    """requests auth that signs with the SDK Signer; `date` pins X-Sdk-Date, `extra` adds signed headers."""

    def __init__(
        self,
        ak: str,
        sk: str,
        *,
        project_id: str | None = None,
        date: datetime | None = None,
        extra: Mapping[str, str] | None = None,
    ) -> None:
        self.ak, self.sk, self.project_id, self.date = ak, sk, project_id, date
        self.extra = dict(extra or {})

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        url = urlsplit(r.url or "")
        headers: dict[str, str] = dict(self.extra)
        if r.headers.get("Content-Type"):
            headers["Content-Type"] = r.headers["Content-Type"]
        if self.project_id:
            headers["X-Project-Id"] = self.project_id
        if self.date is not None:
            headers["X-Sdk-Date"] = self.date.strftime("%Y%m%dT%H%M%SZ")
        body = r.body.encode() if isinstance(r.body, str) else (r.body or b"")
        request = SdkRequest(
            method=r.method or "GET",
            schema=url.scheme,
            host=url.netloc,
            resource_path=url.path,
            query_params=parse_qsl(url.query, keep_blank_values=True),
            header_params=headers,
            body=body,
        )
        Signer(_Creds(self.ak, self.sk)).sign(request)
        r.headers.update(request.header_params)
        return r


def sdk_client(
    server: EmulatorServer, sk: str | None = None, *, account: str = "default", region: str | None = None
) -> Any:
    """Huawei's official IMS client (huaweicloudsdkims) pointed at one region's endpoint of the emulator,
    with one account's credentials and its project there."""
    config = HttpConfig.get_default_config()
    config.ignore_ssl_verification = True
    region = region or server.region
    who = server.account(account)
    credentials = BasicCredentials(who.access_key, sk or who.secret_key, server.project_for(region, account))
    return (
        ImsClient.new_builder()
        .with_credentials(credentials)
        .with_endpoints([server.url_for(region)])
        .with_http_config(config)
        .build()
    )


class Ims:
    """A signed HTTP client for one account at one region's endpoint of an emulator, plus create/poll
    shortcuts."""

    def __init__(
        self, server: EmulatorServer, *, account: str = "default", region: str | None = None, **auth: Any
    ) -> None:
        self.server = server
        self.region = region or server.region
        self.url = server.url_for(self.region)
        self.project_id = server.project_for(self.region, account)
        who = server.account(account)
        self.session = requests.Session()
        self.session.auth = SdkSignedAuth(who.access_key, who.secret_key, project_id=self.project_id, **auth)

    @property
    def admin(self) -> AdminClient:
        return self.server.admin

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        return self.session.request(method, self.url + path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def started(self, method: str, path: str, body: Any) -> str:
        """Send a request that starts a job; its job_id."""
        response = self.request(method, path, json=body)
        assert response.status_code == 200, response.text
        return str(response.json()["job_id"])

    def done(self, method: str, path: str, body: Any) -> dict[str, Any]:
        """Start a job and wait for it to succeed; the finished job."""
        job = self.wait(self.started(method, path, body))
        assert job["status"] == "SUCCESS", job
        return job

    def listed(self, **params: Any) -> list[dict[str, Any]]:
        response = self.get("/v2/cloudimages", params=params)
        assert response.status_code == 200, response.text
        images: list[dict[str, Any]] = response.json()["images"]
        return images

    def create(self, body: Any) -> str:
        response = self.post("/v2/cloudimages/action", json=body)
        assert response.status_code == 200, response.text
        return str(response.json()["job_id"])

    def job(self, job_id: str) -> dict[str, Any]:
        response = self.get(f"/v1/cloudimages/job/{job_id}")
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def wait(self, job_id: str, timeout: float = 10.0) -> dict[str, Any]:
        """Poll until SUCCESS/FAIL; on a manual clock, advance it instead of sleeping."""
        deadline = time.monotonic() + timeout
        manual = self.admin.clock()["mode"] == "manual"
        while True:
            job = self.job(job_id)
            if job["status"] in ("SUCCESS", "FAIL"):
                return job
            assert time.monotonic() < deadline, f"job {job_id} still {job['status']}"
            if manual:
                self.admin.advance(3600)
            else:
                time.sleep(0.05)

    def image(self, image_id: str) -> dict[str, Any] | None:
        images = self.get("/v2/cloudimages", params={"id": image_id}).json()["images"]
        return images[0] if images else None


def ims_error(response: requests.Response) -> str:
    """The IMS error code of a response with an `{"error": {"code", ...}}` body."""
    body = response.json()
    assert set(body) == {"error"}, body
    return str(body["error"]["code"])


def utc_now() -> datetime:
    return datetime.now(timezone.utc)
