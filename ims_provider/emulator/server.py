"""`EmulatorServer`: the emulator on real TCP ports inside the current process (threaded werkzeug servers in
daemon threads), for tests, benchmarks, examples and the console script.

One backend serves every region; each region has its own listener (port), as each Huawei Cloud region has its
own IMS endpoint. The first region is the home region: `url`, `project_id` and `region` are about it.

With ``tls_cert`` and ``tls_key`` it serves HTTPS, so clients' certificate handling (verification, a private
CA bundle, an explicit opt-out) can be tested against a real TLS handshake.
"""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import requests
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from ims_provider.emulator.accounts import DEFAULT_ACCOUNT, Account
from ims_provider.emulator.admin import AdminClient
from ims_provider.emulator.app import EmulatorApp
from ims_provider.emulator.backend import Backend
from ims_provider.emulator.clock import EmulatorClock
from ims_provider.emulator.fixtures import DEFAULT_FIXTURES, load_fixtures_file
from ims_provider.emulator.settings import Identity, Settings

logger = logging.getLogger("ims_provider.emulator")

Fixtures = str | Path | Mapping[str, Any] | Sequence[Mapping[str, Any]] | None


class _QuietHandler(WSGIRequestHandler):
    """Access lines go to this package's logger at DEBUG instead of werkzeug's INFO on stderr."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        logger.debug('%s "%s" %s', self.address_string(), getattr(self, "requestline", ""), code)

    def log_error(self, format: str, *args: Any) -> None:
        logger.debug(format, *args)


def _fixture_documents(fixtures: Fixtures, defaults: bool) -> list[Mapping[str, Any]]:
    documents: list[Mapping[str, Any]] = [DEFAULT_FIXTURES] if defaults else []
    if fixtures is None:
        return documents
    if isinstance(fixtures, (str, Path)):
        return [*documents, load_fixtures_file(fixtures)]
    if isinstance(fixtures, Mapping):
        return [*documents, fixtures]
    return [*documents, *fixtures]


class EmulatorServer:
    """Context manager: `with EmulatorServer(port=0) as emu: ...` serves on `emu.url` (and on
    `emu.url_for(region)` for every other region) until the block ends."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        access_key: str = Identity.access_key,
        secret_key: str = Identity.secret_key,
        project_id: str = Identity.project_id,
        region: str | None = None,
        regions: Sequence[str] | None = None,
        accounts: Sequence[Mapping[str, Any] | Account] | None = None,
        job_seconds: float = Settings.job_seconds,
        fixtures: Fixtures = None,
        defaults: bool = True,
        clock_mode: str = "real",
        clock_scale: float = 1.0,
        auth_token: str | None = None,
        image_quota: int = Settings.image_quota,
        progress_profile: str = Settings.progress_profile,
        activation_seconds: float = 0.0,
        delete_seconds: float = 0.0,
        tls_cert: str | Path | None = None,
        tls_key: str | Path | None = None,
    ) -> None:
        if (tls_cert is None) != (tls_key is None):
            raise ValueError("TLS needs both tls_cert and tls_key")
        self._tls: tuple[str, str] | None = (
            (str(tls_cert), str(tls_key)) if tls_cert is not None and tls_key is not None else None
        )
        if regions is not None and region is not None and tuple(regions)[:1] != (region,):
            raise ValueError("region is the home region: the first of regions")
        served = tuple(regions) if regions else (region or Identity.region,)
        settings = Settings().updated(
            {
                "job_seconds": job_seconds,
                "auth_token": auth_token,
                "image_quota": image_quota,
                "progress_profile": progress_profile,
                "activation_seconds": activation_seconds,
                "delete_seconds": delete_seconds,
            }
        )
        self.backend = Backend(
            identity=Identity(
                access_key=access_key, secret_key=secret_key, project_id=project_id, region=served[0]
            ),
            settings=settings,
            clock=EmulatorClock(clock_mode, scale=clock_scale),
            fixtures=_fixture_documents(fixtures, defaults),
            regions=served,
            accounts=accounts,
        )
        self.apps = {name: EmulatorApp(self.backend, region=name) for name in self.backend.region_names}
        self.app = self.apps[self.backend.home]
        self._host = host
        self._port = port
        self._servers: dict[str, BaseWSGIServer] = {}
        self._threads: list[threading.Thread] = []
        self._admin: AdminClient | None = None

    @property
    def host(self) -> str:
        return self._host

    @property
    def regions(self) -> tuple[str, ...]:
        """Every region served, the home region first."""
        return self.backend.region_names

    @property
    def port(self) -> int:
        """The home region's port."""
        return self.port_for(self.region)

    def port_for(self, region: str) -> int:
        server = self._servers.get(region)
        if server is None:
            if region not in self.backend.regions:
                raise KeyError(f"region {region} is not served")
            raise RuntimeError("the emulator is not running")
        return server.port

    @property
    def url(self) -> str:
        """Base URL of the home region (a wildcard bind address is reported as loopback)."""
        return self.url_for(self.region)

    def url_for(self, region: str) -> str:
        """Base URL of a region's IMS (and IAM) endpoint."""
        host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(self._host, self._host)
        if ":" in host:
            host = f"[{host}]"
        scheme = "https" if self._tls else "http"
        return f"{scheme}://{host}:{self.port_for(region)}"

    @property
    def admin(self) -> AdminClient:
        """An AdminClient bound to this server (created on first use)."""
        if self._admin is None or self._admin.base_url != self.url:
            session = requests.Session()
            if self._tls is not None:
                session.verify = self._tls[0]  # a self-signed certificate is its own CA
                session.trust_env = False  # else $REQUESTS_CA_BUNDLE would replace it
            self._admin = AdminClient(self.url, session=session)
        return self._admin

    def account(self, name: str = DEFAULT_ACCOUNT) -> Account:
        """An account (its access_key, secret_key, domain_id, agencies; `project_in(region)`)."""
        return self.backend.accounts.named(name)

    def project_for(self, region: str, account: str = DEFAULT_ACCOUNT) -> str:
        """The account's project in `region` (the project IAM names after the region)."""
        if region not in self.backend.regions:
            raise KeyError(f"region {region} is not served")
        return self.account(account).project_in(region)

    @property
    def access_key(self) -> str:
        return self.account().access_key

    @property
    def secret_key(self) -> str:
        return self.account().secret_key

    @property
    def project_id(self) -> str:
        return self.project_for(self.region)

    @property
    def region(self) -> str:
        return self.backend.home

    def start(self) -> EmulatorServer:
        if self._servers:
            return self
        try:
            for index, name in enumerate(self.regions):
                port = self._port + index if self._port else 0
                self._servers[name] = self._listen(port, self.apps[name])
        except OSError:
            self._close()
            raise
        for name, server in self._servers.items():
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"ims-emulator-{name}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)
        return self

    def _listen(self, port: int, app: EmulatorApp) -> BaseWSGIServer:
        try:
            return make_server(
                self._host,
                port,
                app,
                threaded=True,
                request_handler=_QuietHandler,
                ssl_context=self._ssl_context(),
            )
        except SystemExit as exc:  # werkzeug exits when it cannot bind
            raise OSError(f"cannot listen on {self._host}:{port}") from exc

    def _ssl_context(self) -> ssl.SSLContext | None:
        if self._tls is None:
            return None
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(*self._tls)
        return context

    def _close(self) -> None:
        for server in self._servers.values():
            server.server_close()
        self._servers = {}

    def stop(self) -> None:
        if not self._servers:
            return
        for server in self._servers.values():
            server.shutdown()
        self._close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads = []

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
