"""No secret leaves the provider: the secret key, the security token and the IAM token never appear in
state (inputs, outputs, the ``__provider`` blob), in anything the host printed (progress and debug lines
included), in error details, or in a repr; not even base64- or URL-encoded.

Every path runs with ``ims:debug`` on, through the real dynamic provider host: check (passing and failing),
create (plain, recovered after an unanswered request, failed job, past its deadline), read, diff, update,
delete, read of a deleted image, and bad credentials.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import grpc
import pytest
from google.protobuf.json_format import MessageToDict

from ims_provider.client import ImsClient
from ims_provider.config import load_config
from ims_provider.emulator.server import EmulatorServer
from ims_provider.errors import ImsProviderError
from ims_provider.lifecycle import ImageLifecycle
from ims_provider.operations import RunOptions
from ims_provider.redact import Redactor
from tests.engine.host import DynamicProviderHost
from tests.reliability.support import inputs_for, leaked

SECRET_KEY = "Sk-7f3e-SECRET-aksk-0042-zz"
SECURITY_TOKEN = "Sts-TOKEN-9b1d-temporary-77"
AUTH_TOKEN = "Xat-IAM-TOKEN-5c2e-abcdef-99"
WRONG_SECRET_KEY = "Sk-WRONG-secret-1234-qq"
SECRETS = (SECRET_KEY, SECURITY_TOKEN, AUTH_TOKEN, WRONG_SECRET_KEY)


@pytest.fixture(scope="module")
def secret_emu() -> Iterator[EmulatorServer]:
    with EmulatorServer(secret_key=SECRET_KEY, auth_token=AUTH_TOKEN, job_seconds=0.5) as server:
        yield server


def base_config(emu: EmulatorServer) -> dict[str, str]:
    return {
        "ims:endpoint": emu.url,
        "ims:region": emu.region,
        "ims:debug": "true",
        "ims:progress": "true",
        "ims:pollDelay": "0.1",
        "ims:recoveryGrace": "0.5",
    }


CONFIGS: dict[str, Callable[[EmulatorServer], dict[str, str]]] = {
    "aksk+token": lambda emu: {
        **base_config(emu),
        "ims:accessKey": emu.access_key,
        "ims:secretKey": SECRET_KEY,
        "ims:securityToken": SECURITY_TOKEN,
    },
    "iam-token": lambda emu: {**base_config(emu), "ims:authToken": AUTH_TOKEN},
    "wrong-secret": lambda emu: {
        **base_config(emu),
        "ims:accessKey": emu.access_key,
        "ims:secretKey": WRONG_SECRET_KEY,
    },
}


class Capture:
    """Everything the engine or the user could see."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def add(self, value: Any) -> None:
        if isinstance(value, grpc.RpcError):
            self.texts.append(value.details() or "")  # type: ignore[attr-defined]
            self.texts.append(str(value))
        elif hasattr(value, "DESCRIPTOR"):  # a protobuf response
            self.texts.append(json.dumps(MessageToDict(value)))
        else:
            self.texts.append(json.dumps(value, default=repr) if not isinstance(value, str) else value)

    def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        try:
            result = fn(*args)
        except grpc.RpcError as exc:
            self.add(exc)
            return exc
        self.add(result)
        return result

    def blob(self, blob: str) -> None:
        self.texts.append(blob)
        self.texts.append(base64.b64decode(blob).decode("latin-1"))

    def leaks(self) -> list[str]:
        return leaked(SECRETS, self.texts)


def exercise_every_path(host: DynamicProviderHost, emu: EmulatorServer, cap: Capture) -> None:
    """Success and failure paths; each response and error goes into the capture."""
    admin = emu.admin
    cap.call(host.check, "bad", {"name": " bad ", "instance_id": 5, "timeouts": {"create": "soon"}})
    inputs = host.checked("img", inputs_for("ecs_data", "secret-img"))
    cap.add(inputs)
    cap.blob(str(inputs["__provider"]))
    created = cap.call(host.create, "img", inputs)
    assert not isinstance(created, grpc.RpcError), created
    rid, state = created
    cap.call(host.read, "img", rid, state, inputs)
    news = host.checked(
        "img", {**inputs_for("ecs_data", "secret-img"), "name": "renamed", "image_tags": {"a": "b"}}
    )
    cap.call(host.diff, "img", rid, state, news)
    new_state = cap.call(host.update, "img", rid, state, news)
    # A recovered create: the answer to the POST is lost after IMS made the job.
    admin.add_fault(kind="drop_after", method="POST", path="/v2/cloudimages/action")
    cap.call(host.create, "again", host.checked("again", inputs_for("ecs", "secret-again")))
    # A failed job, and a create past its deadline.
    admin.add_fault(kind="job_fail", error_code="IMG.0061", fail_reason="injected")
    cap.call(host.create, "fail", host.checked("fail", inputs_for("volume", "secret-fail")))
    admin.update_settings(job_seconds=3.0)
    late = {**inputs_for("data_only", "secret-late"), "timeouts": {"create": "1s"}}
    cap.call(host.create, "late", host.checked("late", late))
    admin.update_settings(job_seconds=0.5)
    # Transient faults the client retries (their bodies are logged at debug level).
    admin.add_fault(kind="status", status=503, method="GET", path="/v2/cloudimages", count=2)
    cap.call(host.read, "img", rid, new_state, news)
    cap.call(host.delete, "img", rid, new_state)
    cap.call(host.read, "img", rid, new_state, news)


@pytest.mark.parametrize("auth", ["aksk+token", "iam-token"])
def test_no_secret_in_state_output_errors_or_debug_log(secret_emu: EmulatorServer, auth: str) -> None:
    secret_emu.admin.reset()
    cap = Capture()
    host = DynamicProviderHost(CONFIGS[auth](secret_emu))
    host.start()
    try:
        exercise_every_path(host, secret_emu, cap)
    finally:
        host.stop()  # then host.lines holds all it printed
        cap.texts.extend(host.lines)
        assert cap.leaks() == []  # whatever else failed: no path may have leaked a secret
    # Every path really ran (the facts a user sees, wherever the host's wording puts them).
    assert any("request headers" in line and "***" in line for line in host.lines)  # debug on, and masked
    assert any(
        "could not reach IMS" in t or "outcome is unknown" in t or "got no clear answer" in t
        for t in cap.texts
    )
    assert any("IMG.0061: injected" in t for t in cap.texts)
    assert any("timed out after" in t and "timeouts.create" in t for t in cap.texts)


def test_bad_credentials_error_carries_no_secret(secret_emu: EmulatorServer) -> None:
    secret_emu.admin.reset()
    cap = Capture()
    with DynamicProviderHost(CONFIGS["wrong-secret"](secret_emu)) as host:
        inputs = host.checked("img", inputs_for("ecs", "secret-denied"))
        error = cap.call(host.create, "img", inputs)
        cap.call(host.read, "img", "3f7185de-b59a-4bb8-aa1d-7a513528b0e9", {}, inputs)
        cap.call(host.delete, "img", "3f7185de-b59a-4bb8-aa1d-7a513528b0e9", {"image_id": "x"})
    assert isinstance(error, grpc.RpcError) and "APIGW.0301" in (error.details() or "")  # type: ignore[attr-defined]
    cap.texts.extend(host.lines)
    assert cap.leaks() == []


def test_reprs_and_in_process_errors_carry_no_secret(secret_emu: EmulatorServer) -> None:
    secret_emu.admin.reset()
    cap = Capture()
    for make in CONFIGS.values():
        raw = make(secret_emu)
        config = load_config(raw.get, {})
        client = ImsClient(config)
        lifecycle = ImageLifecycle(client, RunOptions(write=cap.texts.append, poll_delay=0.1))
        cap.texts += [repr(config), str(config), repr(config.describe()), repr(client), repr(lifecycle)]
        cap.texts += [repr(config.auth()), str(config.auth()), repr(Redactor(config.secrets))]
        try:
            client.list_images(name="x")
        except ImsProviderError as exc:
            cap.texts += [str(exc), repr(exc), repr(exc.__dict__)]
        try:
            lifecycle.create(inputs_for("ecs", "in-process"))
        except ImsProviderError as exc:
            cap.texts += [str(exc), repr(exc)]
        client.close()
    for partial in (
        {"ims:secretKey": SECRET_KEY},
        {"ims:securityToken": SECURITY_TOKEN, "ims:accessKey": "AK"},
    ):
        raw = {**base_config(secret_emu), **partial}
        with pytest.raises(ImsProviderError) as info:
            load_config(raw.get, {})
        cap.texts += [str(info.value), repr(info.value)]
    assert any("APIGW.0301" in t for t in cap.texts)  # the wrong key really was refused
    assert cap.leaks() == []


def test_job_text_echoing_a_secret_is_redacted(secret_emu: EmulatorServer) -> None:
    """IMS free text (a job's fail_reason, its current_task) reaches errors and progress lines: it is
    redacted like every other service answer."""
    secret_emu.admin.reset()
    secret_emu.admin.fail_next_job("IMG.0057", f"cannot read the file with key {SECRET_KEY}")
    cap = Capture()
    raw = CONFIGS["aksk+token"](secret_emu)
    lifecycle = ImageLifecycle(
        ImsClient(load_config(raw.get, {})), RunOptions(write=cap.texts.append, poll_delay=0.1)
    )
    with pytest.raises(ImsProviderError) as info:
        lifecycle.create(inputs_for("ecs", "echoing"))
    cap.texts += [str(info.value), repr(info.value), repr(info.value.__dict__)]
    assert "IMG.0057" in str(info.value)
    assert cap.leaks() == []


def test_capture_would_see_a_leak() -> None:
    """The search itself works: a base64- or URL-encoded secret is found."""
    cap = Capture()
    cap.add({"x": base64.b64encode(SECURITY_TOKEN.encode()).decode()})
    cap.add(quote(AUTH_TOKEN))
    assert sorted(cap.leaks()) == sorted([SECURITY_TOKEN, AUTH_TOKEN])
