"""TLS: certificates are verified by default, ``ims:caBundle`` trusts a private cloud's CA, and only the
explicit ``ims:insecure`` turns verification off, with a loud warning. Against the emulator serving HTTPS
with a self-signed certificate, through the real dynamic provider host."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from ims_provider.client import ImsConnectionError
from ims_provider.emulator.server import EmulatorServer
from ims_provider.operations import is_transient
from tests.engine.conftest import stack_config
from tests.engine.host import DynamicProviderHost
from tests.reliability.support import client_for, images, inputs_for

# requests would swap verify=True for these; empty means "not set" to it.
NO_CA_OVERRIDES = {"REQUESTS_CA_BUNDLE": "", "CURL_CA_BUNDLE": ""}


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("the openssl command is needed to make a self-signed test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture(scope="module")
def tls_emu(certificate: tuple[Path, Path]) -> Iterator[EmulatorServer]:
    cert, key = certificate
    with EmulatorServer(job_seconds=0.5, tls_cert=cert, tls_key=key) as server:
        assert server.url.startswith("https://")
        yield server


@pytest.fixture
def fresh_tls_emu(tls_emu: EmulatorServer) -> EmulatorServer:
    tls_emu.admin.reset()
    return tls_emu


def test_default_verifies_and_fails_once_with_a_clear_error(fresh_tls_emu: EmulatorServer) -> None:
    emu = fresh_tls_emu
    with DynamicProviderHost(stack_config(emu.url), env=NO_CA_OVERRIDES) as host:
        inputs = host.checked("tls", inputs_for("ecs", "tls-default"))
        with pytest.raises(grpc.RpcError) as info:
            host.create("tls", inputs)
    message = info.value.details()  # type: ignore[attr-defined]
    assert "certificate verify failed" in message and "ims:caBundle" in message
    assert emu.admin.requests() == [] and images(emu) == {}


def test_certificate_error_is_final_not_retried(
    fresh_tls_emu: EmulatorServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in NO_CA_OVERRIDES:
        monkeypatch.delenv(name, raising=False)
    client = client_for(fresh_tls_emu)
    with pytest.raises(ImsConnectionError) as info:
        client.list_images(name="x")
    assert info.value.attempts == 1 and info.value.retryable is False
    assert not is_transient(info.value)  # a wait would not keep polling through it either


def test_ca_bundle_trusts_a_private_ca(fresh_tls_emu: EmulatorServer, certificate: tuple[Path, Path]) -> None:
    emu = fresh_tls_emu
    config = stack_config(emu.url, **{"ims:caBundle": str(certificate[0])})
    with DynamicProviderHost(config, env=NO_CA_OVERRIDES) as host:
        inputs = host.checked("tls", inputs_for("ecs", "tls-bundle"))
        rid, state = host.create("tls", inputs)
        assert list(images(emu)) == [rid] and state["status"] == "active"
        host.delete("tls", rid, state)
    assert images(emu) == {}
    assert not any("InsecureTLSWarning" in line for line in host.lines)


def test_insecure_works_only_when_asked_and_warns_loudly(fresh_tls_emu: EmulatorServer) -> None:
    emu = fresh_tls_emu
    with DynamicProviderHost(stack_config(emu.url, **{"ims:insecure": "true"}), env=NO_CA_OVERRIDES) as host:
        inputs = host.checked("tls", inputs_for("ecs", "tls-insecure"))
        rid, _state = host.create("tls", inputs)
    assert list(images(emu)) == [rid]
    warning = [line for line in host.lines if "InsecureTLSWarning" in line]
    assert warning and "NOT verified" in warning[0] and "ims:insecure" in warning[0]
