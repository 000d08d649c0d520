"""ImsClient without a network: a fake transport adapter mounted on the session plays IMS/IAM."""

from __future__ import annotations

import json
import logging
import random
import ssl
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from urllib3.exceptions import MaxRetryError, NewConnectionError, ReadTimeoutError

from ims_provider import client as client_module
from ims_provider.auth import signature
from ims_provider.client import ImsClient, ImsConnectionError, InsecureTLSWarning, error_from_response
from ims_provider.config import ProviderConfig, load_config
from ims_provider.errors import AmbiguousRequestError, ConfigError, ImsApiError, ImsProviderError
from ims_provider.redact import Redactor
from ims_provider.retry import RetryPolicy

ENDPOINT = "https://ims.cn-north-4.myhuaweicloud.com"
IAM = "https://iam.cn-north-4.myhuaweicloud.com"
PROJECT = "0605767c6a80d5c72f1dc0193fbee5a2"
AK = "EMULATORACCESSKEY"
SK = "EMULATORSECRETKEY-very-secret-0123"
STS = "temporary-security-token-ABCDEFGH"
TOKEN = "MIIE-iam-token-0123456789-secret"
JOB = "ff8080828f1f1b6e018f2a5c7e3b0042"
IMAGE = "3f7185de-b59a-4bb8-aa1d-7a513528b0e9"

Result = requests.Response | BaseException
Handler = Callable[[requests.PreparedRequest], Result]


@pytest.fixture(autouse=True)
def _no_ca_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """requests replaces verify=True with $REQUESTS_CA_BUNDLE; keep the host's setting out of the tests."""
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)


def response(
    req: requests.PreparedRequest,
    status: int = 200,
    body: Any = None,
    headers: Mapping[str, str] | None = None,
) -> requests.Response:
    resp = requests.Response()
    resp.status_code = status
    if isinstance(body, bytes):
        resp._content = body
    elif body is None:
        resp._content = b""
    else:
        resp._content = json.dumps(body).encode()
    resp.headers = CaseInsensitiveDict(headers or {})
    resp.request = req
    resp.url = req.url or ""
    resp.reason = {200: "OK", 204: "No Content", 404: "Not Found"}.get(status, "Error")
    resp.encoding = "utf-8"
    return resp


def refused() -> requests.exceptions.ConnectionError:
    reason = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] Connection refused")  # type: ignore[arg-type]
    return requests.exceptions.ConnectionError(MaxRetryError(None, "/", reason=reason))  # type: ignore[arg-type]


def read_timeout() -> requests.exceptions.ReadTimeout:
    return requests.exceptions.ReadTimeout(ReadTimeoutError(None, "/", "Read timed out. (read timeout=60)"))  # type: ignore[arg-type]


class FakeAdapter(BaseAdapter):
    """Records every request the session sends and answers through ``handler``."""

    def __init__(self, handler: Handler) -> None:
        super().__init__()
        self.handler = handler
        self.sent: list[requests.PreparedRequest] = []
        self.kwargs: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        with self._lock:
            self.sent.append(request.copy())
            self.kwargs.append({"timeout": timeout, "verify": verify})
        result = self.handler(request)
        if isinstance(result, BaseException):
            raise result
        return result

    def close(self) -> None:
        pass

    def paths(self) -> list[str]:
        return [f"{r.method} {urlsplit(r.url or '').path}" for r in self.sent]


def scripted(*results: Callable[[requests.PreparedRequest], Result]) -> Handler:
    """Answer the n-th request with the n-th function; the last one repeats."""
    queue = list(results)
    lock = threading.Lock()

    def handler(req: requests.PreparedRequest) -> Result:
        with lock:
            fn = queue.pop(0) if len(queue) > 1 else queue[0]
        return fn(req)

    return handler


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def make_config(**overrides: str) -> ProviderConfig:
    values = {"ims:region": "cn-north-4", "ims:projectId": PROJECT, "ims:accessKey": AK, "ims:secretKey": SK}
    values.update(overrides)
    return load_config(lambda k: values.get(k) or None, {})


def make_client(
    handler: Handler, config: ProviderConfig | None = None, retry: RetryPolicy | None = None
) -> tuple[ImsClient, FakeAdapter, FakeClock]:
    session = requests.Session()
    adapter = FakeAdapter(handler)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    clock = FakeClock()
    client = ImsClient(
        config or make_config(),
        session=session,
        retry=retry or RetryPolicy(rng=random.Random(0)),
        sleep=clock.sleep,
        clock=clock.monotonic,
    )
    return client, adapter, clock


def query(req: requests.PreparedRequest) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(req.url or "").query, keep_blank_values=True))


def body_of(req: requests.PreparedRequest) -> Any:
    assert isinstance(req.body, bytes)
    return json.loads(req.body)


def assert_valid_signature(req: requests.PreparedRequest, secret: str = SK) -> None:
    """Verify like a gateway would: recompute over the signed headers as they arrived."""
    auth = req.headers["Authorization"]
    assert auth.startswith(f"SDK-HMAC-SHA256 Access={AK}, SignedHeaders=")
    signed = auth.split("SignedHeaders=")[1].split(",")[0].split(";")
    headers = {name: req.headers[name] for name in signed}
    body = req.body if isinstance(req.body, bytes) else None
    expected_signed, expected = signature(req.method or "", req.url or "", headers, body, secret)
    assert expected_signed == ";".join(signed)
    assert auth.endswith(f"Signature={expected}")


def all_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc)) + repr(exc) + str(vars(exc))


# --- happy paths and wire format -----------------------------------------------------------------


def test_create_image_wire_format() -> None:
    client, adapter, _ = make_client(lambda r: response(r, 200, {"job_id": JOB}))
    job = client.create_image({"name": "镜像", "instance_id": "i-1"})
    assert job == JOB
    (req,) = adapter.sent
    assert req.method == "POST" and req.url == f"{ENDPOINT}/v2/cloudimages/action"
    assert req.headers["Content-Type"] == "application/json;charset=UTF-8"
    assert body_of(req) == {"name": "镜像", "instance_id": "i-1"}
    assert req.headers["X-Project-Id"] == PROJECT
    assert req.headers["Host"] == "ims.cn-north-4.myhuaweicloud.com"
    assert "X-Sdk-Date" in req.headers
    assert_valid_signature(req)
    assert adapter.kwargs[0] == {"timeout": (5.0, 60.0), "verify": True}


def test_create_image_without_job_id() -> None:
    client, _, _ = make_client(lambda r: response(r, 200, {"unexpected": True}))
    with pytest.raises(ImsProviderError, match="job_id"):
        client.create_image({"name": "x"})


def test_get_image_found_and_gone() -> None:
    images = {IMAGE: {"id": IMAGE, "status": "active"}}

    def handler(r: requests.PreparedRequest) -> Result:
        found = images.get(query(r)["id"])
        return response(r, 200, {"images": [found] if found else []})

    client, adapter, _ = make_client(handler)
    assert client.get_image(IMAGE) == {"id": IMAGE, "status": "active"}
    assert client.get_image("missing") is None
    assert adapter.paths() == ["GET /v2/cloudimages"] * 2
    assert_valid_signature(adapter.sent[0])
    assert adapter.sent[0].headers["Content-Type"] == "application/json"


def test_list_images_follows_marker_paging() -> None:
    ids = [f"img-{i}" for i in range(5)]

    def handler(r: requests.PreparedRequest) -> Result:
        q = query(r)
        start = ids.index(q["marker"]) + 1 if "marker" in q else 0
        page = ids[start : start + int(q["limit"])]
        return response(r, 200, {"images": [{"id": i} for i in page]})

    client, adapter, _ = make_client(handler)
    got = client.list_images(limit="2", __imagetype="private")
    assert [i["id"] for i in got] == ids
    assert [query(r).get("marker") for r in adapter.sent] == [None, "img-1", "img-3"]
    assert all(query(r)["__imagetype"] == "private" for r in adapter.sent)


def test_list_images_uses_next_marker_and_stops_on_repeat() -> None:
    pages = iter(
        [
            {"images": [{"id": "a"}], "page_info": {"next_marker": "a"}},
            {"images": [{"id": "b"}], "page_info": {"next_marker": "a"}},
        ]
    )
    client, adapter, _ = make_client(lambda r: response(r, 200, next(pages)))
    assert [i["id"] for i in client.list_images()] == ["a", "b"]
    assert len(adapter.sent) == 2
    with pytest.raises(ValueError):
        client.list_images(limit="0")


def test_update_image_sends_array() -> None:
    client, adapter, _ = make_client(lambda r: response(r, 200, {"id": IMAGE, "name": "new"}))
    ops = [{"op": "replace", "path": "/name", "value": "new"}]
    assert client.update_image(IMAGE, ops) == {"id": IMAGE, "name": "new"}
    (req,) = adapter.sent
    assert req.method == "PATCH" and urlsplit(req.url or "").path == f"/v2/cloudimages/{IMAGE}"
    assert body_of(req) == ops
    assert req.headers["Content-Type"] == "application/json;charset=UTF-8"


def test_tags() -> None:
    def handler(r: requests.PreparedRequest) -> Result:
        if r.method == "GET":
            return response(r, 200, {"tags": [{"key": "k", "value": "v"}]})
        return response(r, 204)

    client, adapter, _ = make_client(handler)
    assert client.list_tags(IMAGE) == [{"key": "k", "value": "v"}]
    client.tags_action(IMAGE, "create", [{"key": "a", "value": "1"}])
    assert adapter.paths() == [
        f"GET /v2/{PROJECT}/images/{IMAGE}/tags",
        f"POST /v2/{PROJECT}/images/{IMAGE}/tags/action",
    ]
    assert body_of(adapter.sent[1]) == {"action": "create", "tags": [{"key": "a", "value": "1"}]}
    with pytest.raises(ValueError):
        client.tags_action(IMAGE, "upsert", [])


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (204, None, True),
        (200, None, True),
        (404, {"error": {"code": "IMG.0027", "message": "gone"}}, False),
        (404, b"<html>Not Found</html>", False),
        (400, {"error": {"code": "IMG.0144", "message": "The image does not exist"}}, False),
        (400, {"error": {"code": "IMG.0086", "message": "No image was found"}}, False),
    ],
)
def test_delete_image(status: int, body: Any, expected: bool) -> None:
    client, adapter, _ = make_client(lambda r: response(r, status, body))
    assert client.delete_image(IMAGE) is expected
    assert adapter.paths() == [f"DELETE /v2/images/{IMAGE}"]


@pytest.mark.parametrize(
    ("status", "code"), [(404, "APIGW.0101"), (400, "IMG.0090"), (400, "IMG.0028"), (403, "IMG.0092")]
)
def test_delete_image_errors_are_raised(status: int, code: str) -> None:
    client, _, _ = make_client(lambda r: response(r, status, {"error_code": code, "error_msg": "no"}))
    with pytest.raises(ImsApiError) as info:
        client.delete_image(IMAGE)
    assert info.value.code == code


def test_list_os_versions() -> None:
    versions = [{"platform": "Ubuntu", "version_list": [{"os_version_key": "Ubuntu 22.04 server 64bit"}]}]
    client, adapter, _ = make_client(lambda r: response(r, 200, versions))
    assert client.list_os_versions(tag="x86") == versions
    assert adapter.paths() == ["GET /v1/cloudimages/os_version"]
    assert query(adapter.sent[0]) == {"tag": "x86"}


def test_redirects_are_not_followed() -> None:
    client, adapter, _ = make_client(lambda r: response(r, 302, b"", {"Location": "https://evil.example/"}))
    with pytest.raises(ImsApiError) as info:
        client.get_image(IMAGE)
    assert info.value.status == 302
    assert len(adapter.sent) == 1


def test_non_json_success_body() -> None:
    client, _, _ = make_client(lambda r: response(r, 200, b"<html>"))
    with pytest.raises(ImsProviderError, match="not JSON"):
        client.get_image(IMAGE)


# --- job API fallback ----------------------------------------------------------------------------


def job_body(status: str = "RUNNING") -> dict[str, Any]:
    return {"job_id": JOB, "status": status, "entities": {"process_percent": 0.5}}


def test_get_job_uses_progress_api() -> None:
    client, adapter, _ = make_client(lambda r: response(r, 200, job_body()))
    assert client.get_job(JOB)["status"] == "RUNNING"
    assert adapter.paths() == [f"GET /v1/cloudimages/job/{JOB}"]


def test_get_job_falls_back_once_and_remembers() -> None:
    def handler(r: requests.PreparedRequest) -> Result:
        if "/cloudimages/job/" in (r.url or ""):
            return response(r, 404, {"error_code": "APIGW.0101", "error_msg": "The API does not exist"})
        return response(r, 200, job_body("SUCCESS"))

    client, adapter, _ = make_client(handler)
    assert client.get_job(JOB)["status"] == "SUCCESS"
    assert client.get_job(JOB)["status"] == "SUCCESS"
    assert adapter.paths() == [
        f"GET /v1/cloudimages/job/{JOB}",
        f"GET /v1/{PROJECT}/jobs/{JOB}",
        f"GET /v1/{PROJECT}/jobs/{JOB}",
    ]


def test_get_job_missing_job_is_not_remembered_as_fallback() -> None:
    def handler(r: requests.PreparedRequest) -> Result:
        return response(r, 404, {"error": {"code": "IMG.0404", "message": "job not found"}})

    client, adapter, _ = make_client(handler)
    with pytest.raises(ImsApiError) as info:
        client.get_job(JOB)
    assert info.value.code == "IMG.0404"
    with pytest.raises(ImsApiError):
        client.get_job(JOB)
    assert adapter.paths()[2] == f"GET /v1/cloudimages/job/{JOB}"


def test_get_job_reports_primary_error_when_neither_route_exists() -> None:
    def handler(r: requests.PreparedRequest) -> Result:
        if "/cloudimages/job/" in (r.url or ""):
            return response(r, 404, {"error": {"code": "IMG.0404", "message": "job not found"}})
        return response(r, 404, {"error_code": "APIGW.0101", "error_msg": "no such API"})

    client, _, _ = make_client(handler)
    with pytest.raises(ImsApiError) as info:
        client.get_job(JOB)
    assert info.value.code == "IMG.0404"


def test_get_job_other_errors_do_not_fall_back() -> None:
    client, adapter, _ = make_client(
        lambda r: response(r, 403, {"error": {"code": "IMG.0026", "message": "x"}})
    )
    with pytest.raises(ImsApiError):
        client.get_job(JOB)
    assert len(adapter.sent) == 1


# --- retries -------------------------------------------------------------------------------------


def throttled(retry_after: str | None = None) -> Callable[[requests.PreparedRequest], Result]:
    headers = {"Retry-After": retry_after} if retry_after else {}
    body = {
        "error_msg": "The throttling threshold has been reached",
        "error_code": "APIGW.0308",
        "request_id": "r1",
    }
    return lambda r: response(r, 429, body, headers)


def test_429_with_retry_after_is_retried_and_resigned() -> None:
    ok = lambda r: response(r, 200, {"images": []})  # noqa: E731
    client, adapter, clock = make_client(scripted(throttled("3"), ok))
    assert client.get_image(IMAGE) is None
    assert clock.sleeps == [3.0]
    assert len(adapter.sent) == 2
    for req in adapter.sent:
        assert_valid_signature(req)


def test_gateway_429_on_create_is_resent() -> None:
    client, adapter, clock = make_client(scripted(throttled(), lambda r: response(r, 200, {"job_id": JOB})))
    assert client.create_image({"name": "x"}) == JOB
    assert len(adapter.sent) == 2
    assert len(clock.sleeps) == 1 and 0 <= clock.sleeps[0] <= 0.5


def test_img_0060_flow_control_is_retried_for_create() -> None:
    flow = lambda r: response(r, 400, {"error": {"code": "IMG.0060", "message": "retry later"}})  # noqa: E731
    client, adapter, clock = make_client(scripted(flow, flow, lambda r: response(r, 200, {"job_id": JOB})))
    assert client.create_image({"name": "x"}) == JOB
    assert len(adapter.sent) == 3
    assert len(clock.sleeps) == 2


def test_5xx_on_get_is_retried() -> None:
    bad = lambda r: response(r, 503, {"error_code": "APIGW.0202", "error_msg": "unavailable"})  # noqa: E731
    client, adapter, _ = make_client(
        scripted(bad, bad, lambda r: response(r, 200, {"images": [{"id": IMAGE}]}))
    )
    assert client.get_image(IMAGE) == {"id": IMAGE}
    assert len(adapter.sent) == 3


def test_5xx_on_create_is_ambiguous_and_not_resent() -> None:
    client, adapter, _ = make_client(lambda r: response(r, 502, b"Bad Gateway"))
    with pytest.raises(AmbiguousRequestError) as info:
        client.create_image({"name": "x"})
    assert len(adapter.sent) == 1
    assert "502" in str(info.value)


def test_read_timeout_on_create_is_ambiguous_and_not_resent() -> None:
    client, adapter, _ = make_client(lambda r: read_timeout())
    with pytest.raises(AmbiguousRequestError) as info:
        client.create_image({"name": "x"})
    assert len(adapter.sent) == 1
    assert info.value.method == "POST" and info.value.path == "/v2/cloudimages/action"
    assert "ReadTimeout" in info.value.cause


def test_connect_phase_failure_on_create_is_resent() -> None:
    client, adapter, _ = make_client(
        scripted(lambda r: refused(), lambda r: response(r, 200, {"job_id": JOB}))
    )
    assert client.create_image({"name": "x"}) == JOB
    assert len(adapter.sent) == 2


def test_reset_on_get_is_retried() -> None:
    reset = requests.exceptions.ConnectionError("Connection aborted.", ConnectionResetError(104, "reset"))
    client, adapter, _ = make_client(scripted(lambda r: reset, lambda r: response(r, 200, {"images": []})))
    assert client.get_image(IMAGE) is None
    assert len(adapter.sent) == 2


def test_retries_are_bounded_by_max_attempts() -> None:
    client, adapter, clock = make_client(throttled(), retry=RetryPolicy(max_attempts=4, rng=random.Random(0)))
    with pytest.raises(ImsApiError) as info:
        client.get_image(IMAGE)
    assert info.value.status == 429 and info.value.code == "APIGW.0308"
    assert len(adapter.sent) == 4 and len(clock.sleeps) == 3


def test_retries_are_bounded_by_budget() -> None:
    client, adapter, clock = make_client(throttled("100"), retry=RetryPolicy(budget=120.0, cap=30.0))
    with pytest.raises(ImsApiError) as info:
        client.get_image(IMAGE)
    assert clock.sleeps == [100.0]  # as long as the gateway asked, never earlier; the next would pass 120 s
    assert len(adapter.sent) == 2
    assert info.value.retry_after == 100.0


def test_connection_failures_exhausted() -> None:
    client, adapter, _ = make_client(
        lambda r: refused(), retry=RetryPolicy(max_attempts=3, rng=random.Random(0))
    )
    with pytest.raises(ImsConnectionError) as info:
        client.create_image({"name": "x"})
    assert len(adapter.sent) == 3
    assert info.value.retryable and info.value.attempts == 3
    assert isinstance(info.value, requests.exceptions.ConnectionError)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_certificate_failure_is_not_retried() -> None:
    cert = requests.exceptions.SSLError(ssl.SSLCertVerificationError(1, "certificate verify failed"))
    client, adapter, _ = make_client(lambda r: cert)
    with pytest.raises(ImsConnectionError) as info:
        client.get_image(IMAGE)
    assert not info.value.retryable
    assert len(adapter.sent) == 1


# --- project id ----------------------------------------------------------------------------------


def iam_and_ims(projects: list[dict[str, Any]], delay: float = 0.0) -> tuple[Handler, list[int]]:
    calls = [0]
    lock = threading.Lock()

    def handler(r: requests.PreparedRequest) -> Result:
        if urlsplit(r.url or "").path == "/v3/projects":
            with lock:
                calls[0] += 1
            time.sleep(delay)
            return response(r, 200, {"projects": projects, "links": {}})
        return response(r, 200, {"tags": []})

    return handler, calls


def test_project_id_looked_up_once_under_8_threads() -> None:
    handler, calls = iam_and_ims([{"id": PROJECT, "name": "cn-north-4"}], delay=0.05)
    client, adapter, _ = make_client(handler, config=make_config(**{"ims:projectId": ""}))
    barrier = threading.Barrier(8)
    seen: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            client.list_tags(IMAGE)
            seen.append(client.project_id)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert calls[0] == 1
    assert seen == [PROJECT] * 8
    iam = [r for r in adapter.sent if urlsplit(r.url or "").path == "/v3/projects"]
    assert iam[0].url == f"{IAM}/v3/projects?name=cn-north-4"
    assert "X-Project-Id" not in iam[0].headers
    assert_valid_signature(iam[0])
    ims = [r for r in adapter.sent if r not in iam]
    assert len(ims) == 8 and all(r.headers["X-Project-Id"] == PROJECT for r in ims)


@pytest.mark.parametrize(
    "projects", [[], [{"id": "a", "name": "cn-north-4"}, {"id": "b", "name": "cn-north-4"}]]
)
def test_project_lookup_must_find_exactly_one(projects: list[dict[str, Any]]) -> None:
    handler, calls = iam_and_ims(projects)
    client, _, _ = make_client(handler, config=make_config(**{"ims:projectId": ""}))
    with pytest.raises(ConfigError, match="ims:projectId"):
        _ = client.project_id
    with pytest.raises(ConfigError):
        _ = client.project_id
    assert calls[0] == 2  # a failure is not cached


def test_project_lookup_goes_to_endpoint_override() -> None:
    handler, _ = iam_and_ims([{"id": PROJECT, "name": "cn-north-4"}])
    config = make_config(**{"ims:projectId": "", "ims:endpoint": "http://127.0.0.1:8080"})
    client, adapter, _ = make_client(handler, config=config)
    assert client.project_id == PROJECT
    assert adapter.sent[0].url == "http://127.0.0.1:8080/v3/projects?name=cn-north-4"
    assert adapter.sent[0].headers["Host"] == "127.0.0.1:8080"


def iam_refuses(status: int, body: Any) -> Handler:
    """An IMS host asked as IAM: it has no /v3/projects, so it answers ``status``; IMS calls succeed."""

    def handler(r: requests.PreparedRequest) -> Result:
        if urlsplit(r.url or "").path == "/v3/projects":
            return response(r, status, body, {"X-Request-Id": "req-iam-1"})
        return response(r, 204)

    return handler


@pytest.mark.parametrize(
    ("status", "body", "says"),
    [
        (404, {"error_code": "APIGW.0101", "error_msg": "The API does not exist"}, "HTTP 404 APIGW.0101"),
        (
            401,
            {"error_code": "APIGW.0301", "error_msg": "Incorrect IAM authentication"},
            "HTTP 401 APIGW.0301",
        ),
        (200, {"projects": []}, "lists 0 projects named 'cn-north-4'"),
        (200, {"images": []}, "without a 'projects' list"),
    ],
)
def test_project_lookup_failure_at_endpoint_override_names_what_to_set(
    status: int, body: Any, says: str
) -> None:
    config = make_config(
        **{"ims:projectId": "", "ims:endpoint": "http://127.0.0.1:8080", "ims:securityToken": STS}
    )
    client, adapter, _ = make_client(iam_refuses(status, body), config=config)
    with pytest.raises(ConfigError) as info:
        client.list_tags(IMAGE)
    text = str(info.value)
    assert says in text
    assert "IAM GET http://127.0.0.1:8080/v3/projects?name=cn-north-4" in text
    assert "derived from config ims:endpoint" in text
    assert "ims:projectId" in text and "ims:iamEndpoint" in text
    assert adapter.paths() == ["GET /v3/projects"]  # nothing was sent to IMS without a project
    for secret in (SK, STS):
        assert secret not in all_text(info.value)


def test_project_lookup_failure_is_not_taken_for_a_gone_image() -> None:
    """A 404 from the lookup is about the project, not the image: delete must not report it deleted."""
    config = make_config(**{"ims:projectId": "", "ims:endpoint": "http://127.0.0.1:8080"})
    client, adapter, _ = make_client(iam_refuses(404, b"<html>404 Not Found</html>"), config)
    with pytest.raises(ConfigError, match="ims:iamEndpoint"):
        client.delete_image(IMAGE)
    assert adapter.paths() == ["GET /v3/projects"]


def test_project_lookup_failure_at_the_default_iam_endpoint_names_it() -> None:
    client, _, _ = make_client(
        iam_refuses(200, {"projects": []}), config=make_config(**{"ims:projectId": ""})
    )
    with pytest.raises(ConfigError) as info:
        _ = client.project_id
    text = str(info.value)
    assert f"IAM GET {IAM}/v3/projects?name=cn-north-4" in text
    assert "the default for region 'cn-north-4'" in text and "derived" not in text
    assert "ims:projectId" in text and "ims:iamEndpoint" in text


def test_project_lookup_failure_names_the_configured_iam_endpoint() -> None:
    config = make_config(
        **{
            "ims:projectId": "",
            "ims:endpoint": "http://127.0.0.1:8080",
            "huaweicloud:authUrl": "https://iam.example/v3",
        }
    )
    client, adapter, _ = make_client(iam_refuses(200, {"projects": []}), config=config)
    with pytest.raises(ConfigError) as info:
        _ = client.project_id
    assert adapter.sent[0].url == "https://iam.example/v3/projects?name=cn-north-4"
    assert "is from config huaweicloud:authUrl" in str(info.value)


def test_token_auth_needs_no_lookup_for_unscoped_paths() -> None:
    handler, calls = iam_and_ims([{"id": PROJECT, "name": "cn-north-4"}])
    config = make_config(
        **{"ims:projectId": "", "ims:accessKey": "", "ims:secretKey": "", "ims:authToken": TOKEN}
    )
    client, adapter, _ = make_client(handler, config=config)
    client.delete_image(IMAGE)
    assert calls[0] == 0
    req = adapter.sent[0]
    assert req.headers["X-Auth-Token"] == TOKEN
    assert "Authorization" not in req.headers and "X-Project-Id" not in req.headers
    client.list_tags(IMAGE)
    assert calls[0] == 1
    assert adapter.sent[-1].headers["X-Project-Id"] == PROJECT


def test_security_token_is_sent() -> None:
    client, adapter, _ = make_client(
        lambda r: response(r, 200, {"images": []}), config=make_config(**{"ims:securityToken": STS})
    )
    client.get_image(IMAGE)
    assert adapter.sent[0].headers["X-Security-Token"] == STS
    assert_valid_signature(adapter.sent[0])


# --- error parsing -------------------------------------------------------------------------------


def _resp(status: int, body: Any, headers: Mapping[str, str] | None = None) -> requests.Response:
    req = requests.Request("GET", f"{ENDPOINT}/x").prepare()
    return response(req, status, body, headers)


def test_error_parsing_ims_body() -> None:
    resp = _resp(400, {"error": {"code": "IMG.0009", "message": "name exists"}}, {"X-Request-Id": "req-1"})
    err = error_from_response(resp, method="POST", path="/v2/cloudimages/action")
    assert (err.status, err.code, err.message, err.request_id) == (400, "IMG.0009", "name exists", "req-1")
    assert str(err) == "POST /v2/cloudimages/action: HTTP 400 IMG.0009: name exists (request id req-1)"


def test_error_parsing_gateway_body() -> None:
    body = {
        "error_msg": "Incorrect IAM authentication information",
        "error_code": "APIGW.0301",
        "request_id": "gw-9",
    }
    err = error_from_response(_resp(401, body), method="GET", path="/p")
    assert (err.code, err.message, err.request_id) == (
        "APIGW.0301",
        "Incorrect IAM authentication information",
        "gw-9",
    )


def test_error_parsing_header_request_id_wins() -> None:
    body = {"error_msg": "m", "error_code": "APIGW.0301", "request_id": "gw-9"}
    err = error_from_response(_resp(401, body, {"x-request-id": "hdr"}), method="GET", path="/p")
    assert err.request_id == "hdr"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"<html><body>502   Bad\nGateway</body></html>", "<html><body>502 Bad Gateway</body></html>"),
        (b"", "Error"),
    ],
)
def test_error_parsing_fallback(body: bytes, message: str) -> None:
    err = error_from_response(_resp(502, body), method="GET", path="/p")
    assert err.code == "502" and err.message == message and err.request_id is None


def test_error_parsing_plain_error_string() -> None:
    err = error_from_response(_resp(404, {"error": "Not Found"}), method="GET", path="/p")
    assert (err.code, err.message) == ("404", "Not Found")


def test_error_parsing_retry_after() -> None:
    err = error_from_response(
        _resp(429, {"error_code": "APIGW.0308"}, {"Retry-After": "4"}), method="GET", path="/p"
    )
    assert err.retry_after == 4.0


# --- secrets -------------------------------------------------------------------------------------


ECHO = f"bad signature for secret {SK} and token {STS}; Signature=abcdef0123456789"
ECHOING_FAILURES: dict[str, Callable[[requests.PreparedRequest], Result]] = {
    "gateway-401": lambda r: response(r, 401, {"error_msg": ECHO, "error_code": "APIGW.0301"}),
    "ims-400": lambda r: response(r, 400, {"error": {"code": SK, "message": ECHO}}),
    "text-500": lambda r: response(r, 500, ECHO.encode()),
    "read-timeout": lambda r: requests.exceptions.ReadTimeout(ECHO),
    "connection": lambda r: requests.exceptions.ConnectionError(ECHO),
    "ssl": lambda r: requests.exceptions.SSLError(ECHO),
}


@pytest.mark.parametrize("failure", list(ECHOING_FAILURES))
@pytest.mark.parametrize("create", [True, False], ids=["create", "get"])
def test_no_secret_in_any_exception_text(failure: str, create: bool) -> None:
    config = make_config(**{"ims:securityToken": STS})
    retry = RetryPolicy(max_attempts=2, rng=random.Random(0))
    client, _, _ = make_client(ECHOING_FAILURES[failure], config=config, retry=retry)
    with pytest.raises(ImsProviderError) as info:
        if create:
            client.create_image({"name": "x"})
        else:
            client.get_image(IMAGE)
    text = all_text(info.value)
    assert SK not in text and STS not in text, text
    assert "abcdef0123456789" not in text


def test_debug_logging_is_redacted(caplog: pytest.LogCaptureFixture) -> None:
    config = make_config(**{"ims:securityToken": STS, "ims:debug": "true"})
    client, _, _ = make_client(lambda r: response(r, 200, {"images": [], "echo": SK}), config=config)
    with caplog.at_level(logging.DEBUG, logger="ims_provider.http"):
        client.get_image(IMAGE)
    text = caplog.text
    assert "GET https://ims.cn-north-4.myhuaweicloud.com/v2/cloudimages?id=" in text
    assert SK not in text and STS not in text
    assert "Signature=***" in text and "'X-Security-Token': '***'" in text


def test_no_debug_logging_unless_enabled(caplog: pytest.LogCaptureFixture) -> None:
    client, _, _ = make_client(lambda r: response(r, 200, {"images": []}))
    with caplog.at_level(logging.DEBUG, logger="ims_provider.http"):
        client.get_image(IMAGE)
    assert caplog.text == ""


def test_token_is_redacted_from_logs(caplog: pytest.LogCaptureFixture) -> None:
    config = make_config(
        **{"ims:accessKey": "", "ims:secretKey": "", "ims:authToken": TOKEN, "ims:debug": "true"}
    )
    client, _, _ = make_client(lambda r: response(r, 200, {"images": []}), config=config)
    with caplog.at_level(logging.DEBUG, logger="ims_provider.http"):
        client.get_image(IMAGE)
    assert TOKEN not in caplog.text and "'X-Auth-Token': '***'" in caplog.text


def test_redactor() -> None:
    scrub = Redactor([SK, None, "", "abc"])
    assert scrub.text(f"x{SK}y") == "x***y"
    assert scrub.text("abc") == "abc"  # too short to be a real secret; masking it would garble text
    headers = scrub.headers(
        {
            "Authorization": f"SDK-HMAC-SHA256 Access={AK}, SignedHeaders=host;x-sdk-date, Signature=0a1b2c",
            "X-Auth-Token": TOKEN,
            "Cookie": "c=1",
            "Accept": "application/json",
        }
    )
    assert (
        headers["Authorization"]
        == f"SDK-HMAC-SHA256 Access={AK}, SignedHeaders=host;x-sdk-date, Signature=***"
    )
    assert headers["X-Auth-Token"] == "***" and headers["Cookie"] == "***"
    assert headers["Accept"] == "application/json"
    assert scrub.header_value("Authorization", "Bearer xyz") == "***"


def test_client_repr_has_no_secret() -> None:
    client, _, _ = make_client(lambda r: response(r, 200, {}))
    assert SK not in repr(client)


# --- TLS settings --------------------------------------------------------------------------------


def test_insecure_disables_verification_and_warns_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_module, "_insecure_warned", False)
    config = make_config(**{"ims:insecure": "true"})
    with pytest.warns(InsecureTLSWarning, match="NOT verified"):
        client, adapter, _ = make_client(lambda r: response(r, 200, {"images": []}), config=config)
    client.get_image(IMAGE)
    assert adapter.kwargs[0]["verify"] is False
    with warnings.catch_warnings():
        warnings.simplefilter("error", InsecureTLSWarning)
        make_client(lambda r: response(r, 200, {}), config=config)


def test_ca_bundle_is_used_even_with_requests_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("x")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/somewhere/else.pem")
    client, adapter, _ = make_client(
        lambda r: response(r, 200, {"images": []}), config=make_config(**{"ims:caBundle": str(bundle)})
    )
    client.get_image(IMAGE)
    assert adapter.kwargs[0]["verify"] == str(bundle)


def test_default_session_is_built() -> None:
    with ImsClient(make_config()) as client:
        assert "ImsClient" in repr(client)
