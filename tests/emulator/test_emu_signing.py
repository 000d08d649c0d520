"""The emulator's AK/SK verifier: reference vectors, agreement with the SDK Signer, and the 401 cases."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from emu_support import Ims, SdkSignedAuth, utc_now
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer

from ims_provider.emulator import EmulatorServer, signing

VECTOR_HEADERS = {
    "content-type": "application/json",
    "host": "ims.cn-north-4.myhuaweicloud.com",
    "x-project-id": "proj123",
    "x-sdk-date": "20240101T000000Z",
}
SIGNED = ["content-type", "host", "x-project-id", "x-sdk-date"]


def _vector_signature(method: str, path: str, query: list[tuple[str, str]], body: bytes) -> str:
    canonical = signing.canonical_request(method, path, query, VECTOR_HEADERS, SIGNED, body)
    return signing.signature("SKEXAMPLE", signing.string_to_sign(canonical, "20240101T000000Z"))


def test_reference_vector_post() -> None:
    body = b'{"name":"img","instance_id":"i-123"}'
    assert (
        _vector_signature("POST", "/v2/cloudimages/action", [], body)
        == "5130f4706600c28d2213be3a17eba98b12b121b4c0e21bea160c784ff9e34260"
    )


def test_reference_vector_get_with_query_in_any_order() -> None:
    query = [("id", "abc"), ("__imagetype", "private")]
    assert (
        _vector_signature("GET", "/v2/cloudimages", query, b"")
        == "7a4e2885f075bbea94ba692404e60e7b10ae9353b76f178d0cb84efb4e826053"
    )


class _Creds:
    ak, sk = "AK", "SK"


@pytest.mark.parametrize(
    ("path", "query", "body"),
    [
        ("/v2/cloudimages", [("name", "a b+c/d"), ("limit", "5"), ("name", "x")], b""),
        ("/v2/images/ä id", [], b""),
        ("/v2/cloudimages/action", [], '{"name":"镜像"}'.encode()),
        ("/v3/projects", [("name", "cn-north-4")], b""),
    ],
)
def test_verifier_agrees_with_sdk_signer(path: str, query: list[tuple[str, str]], body: bytes) -> None:
    headers = {"Content-Type": "application/json", "X-Project-Id": "p"}
    request = SdkRequest("POST", "http", "localhost:1", path, query_params=list(query), header_params=headers)
    request.body = body
    Signer(_Creds()).sign(request)
    sent = {k.lower(): v for k, v in request.header_params.items()}
    assert signing.verify(
        method="POST", path=path, query=query, headers=sent, body=body, credentials={"AK": "SK"}
    ) == "AK"  # fmt: skip


def _assert_gateway_401(response: requests.Response) -> None:
    assert response.status_code == 401
    body = response.json()
    assert body["error_code"] == "APIGW.0301"
    assert body["error_msg"]
    assert body["request_id"] == response.headers["X-Request-Id"]


def test_good_signature_is_accepted(ims: Ims) -> None:
    response = ims.get("/v2/cloudimages", params={"__imagetype": "private", "limit": "10"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["X-Request-Id"]


def test_tampered_body_is_rejected(emulator: EmulatorServer) -> None:
    class Tamper(SdkSignedAuth):
        def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
            signed = super().__call__(r)
            signed.body = b'{"name": "other", "instance_id": "877a2cda-ba63-4e1e-b95f-e67e48b6129a"}'
            signed.headers["Content-Length"] = str(len(signed.body))
            return signed

    auth = Tamper(emulator.access_key, emulator.secret_key, project_id=emulator.project_id)
    response = requests.post(
        emulator.url + "/v2/cloudimages/action",
        json={"name": "ims_test", "instance_id": "877a2cda-ba63-4e1e-b95f-e67e48b6129a"},
        auth=auth,
        timeout=10,
    )
    _assert_gateway_401(response)
    assert emulator.admin.state()["jobs"] == []


def test_wrong_secret_key_is_rejected(emulator: EmulatorServer) -> None:
    auth = SdkSignedAuth(emulator.access_key, "WRONGSECRET", project_id=emulator.project_id)
    _assert_gateway_401(requests.get(emulator.url + "/v2/cloudimages", auth=auth, timeout=10))


def test_unknown_access_key_is_rejected(emulator: EmulatorServer) -> None:
    auth = SdkSignedAuth("SOMEONEELSE", emulator.secret_key, project_id=emulator.project_id)
    _assert_gateway_401(requests.get(emulator.url + "/v2/cloudimages", auth=auth, timeout=10))


@pytest.mark.parametrize("offset", [timedelta(minutes=-16), timedelta(minutes=16), timedelta(days=-1)])
def test_stale_or_future_date_is_rejected(emulator: EmulatorServer, offset: timedelta) -> None:
    ims = Ims(emulator, date=utc_now() + offset)
    _assert_gateway_401(ims.get("/v2/cloudimages"))


def test_date_within_fifteen_minutes_is_accepted(emulator: EmulatorServer) -> None:
    ims = Ims(emulator, date=utc_now() - timedelta(minutes=14))
    assert ims.get("/v2/cloudimages").status_code == 200


def test_date_is_checked_against_wall_clock_not_job_clock(manual_emulator: EmulatorServer) -> None:
    manual_emulator.admin.advance(7 * 24 * 3600)
    assert Ims(manual_emulator).get("/v2/cloudimages").status_code == 200


def test_missing_authorization_is_rejected(emulator: EmulatorServer) -> None:
    _assert_gateway_401(requests.get(emulator.url + "/v2/cloudimages", timeout=10))


def test_garbled_authorization_header_is_rejected(emulator: EmulatorServer) -> None:
    headers = {"Authorization": "Basic dXNlcjpwYXNz", "X-Sdk-Date": utc_now().strftime("%Y%m%dT%H%M%SZ")}
    _assert_gateway_401(requests.get(emulator.url + "/v2/cloudimages", headers=headers, timeout=10))


def test_unsigned_security_token_is_rejected(emulator: EmulatorServer) -> None:
    ims = Ims(emulator)
    response = ims.get("/v2/cloudimages", headers={"X-Security-Token": "temporary"})
    _assert_gateway_401(response)


def test_signed_security_token_is_accepted(emulator: EmulatorServer) -> None:
    ims = Ims(emulator, extra={"X-Security-Token": "temporary"})
    assert ims.get("/v2/cloudimages").status_code == 200


def test_host_and_date_must_be_signed(emulator: EmulatorServer) -> None:
    date = utc_now().strftime("%Y%m%dT%H%M%SZ")
    canonical = signing.canonical_request(
        "GET", "/v2/cloudimages", [], {"x-sdk-date": date}, ["x-sdk-date"], b""
    )
    sig = signing.signature(emulator.secret_key, signing.string_to_sign(canonical, date))
    auth = f"SDK-HMAC-SHA256 Access={emulator.access_key}, SignedHeaders=x-sdk-date, Signature={sig}"
    response = requests.get(
        emulator.url + "/v2/cloudimages", headers={"Authorization": auth, "X-Sdk-Date": date}, timeout=10
    )
    _assert_gateway_401(response)
    assert "host" in response.json()["error_msg"]


def test_token_auth_when_configured() -> None:
    with EmulatorServer(port=0, auth_token="let-me-in") as server:
        ok = requests.get(server.url + "/v2/cloudimages", headers={"X-Auth-Token": "let-me-in"}, timeout=10)
        assert ok.status_code == 200
        bad = requests.get(server.url + "/v2/cloudimages", headers={"X-Auth-Token": "nope"}, timeout=10)
        _assert_gateway_401(bad)


def test_token_rejected_when_none_configured_until_set_in_settings(emulator: EmulatorServer) -> None:
    headers = {"X-Auth-Token": "tok"}
    _assert_gateway_401(requests.get(emulator.url + "/v2/cloudimages", headers=headers, timeout=10))
    emulator.admin.update_settings(auth_token="tok")
    assert requests.get(emulator.url + "/v2/cloudimages", headers=headers, timeout=10).status_code == 200


def test_project_lookup(ims: Ims) -> None:
    found = ims.get("/v3/projects", params={"name": "cn-north-4"}).json()
    assert [p["id"] for p in found["projects"]] == [ims.project_id]
    assert found["projects"][0]["name"] == "cn-north-4" and found["projects"][0]["enabled"] is True
    assert ims.get("/v3/projects", params={"name": "eu-west-0"}).json()["projects"] == []


def test_wrong_project_in_path_or_header(ims: Ims) -> None:
    response = ims.get("/v1/0000/jobs/abc")
    assert response.status_code == 403 and response.json()["error"]["code"] == "IMG.0026"
    other = Ims(ims.server)
    other.session.auth.project_id = "ffffffffffffffffffffffffffffffff"  # type: ignore[union-attr]
    response = other.get("/v2/cloudimages")
    assert response.status_code == 403 and response.json()["error"]["code"] == "IMG.0026"


def test_unknown_route_is_gateway_404(ims: Ims) -> None:
    for method, path in [
        ("GET", "/v2/nothing"),
        ("PUT", "/v2/cloudimages/action"),
        ("POST", "/v2/cloudimages"),
    ]:
        response = ims.request(method, path)
        assert response.status_code == 404
        assert response.json()["error_code"] == "APIGW.0101"
        assert response.headers["X-Request-Id"]
