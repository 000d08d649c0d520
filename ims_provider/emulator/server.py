"""`EmulatorServer`: the emulator on a real TCP port inside the current process (threaded werkzeug server
in a daemon thread), for tests, benchmarks, examples and the console script.

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
    """Context manager: `with EmulatorServer(port=0) as emu: ...` serves on `emu.url` until the block ends."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        access_key: str = Identity.access_key,
        secret_key: str = Identity.secret_key,
        project_id: str = Identity.project_id,
        region: str = Identity.region,
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
                access_key=access_key, secret_key=secret_key, project_id=project_id, region=region
            ),
            settings=settings,
            clock=EmulatorClock(clock_mode, scale=clock_scale),
            fixtures=_fixture_documents(fixtures, defaults),
        )
        self.app = EmulatorApp(self.backend)
        self._host = host
        self._port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._admin: AdminClient | None = None

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the emulator is not running")
        return self._server.port

    @property
    def url(self) -> str:
        """Base URL clients connect to (a wildcard bind address is reported as loopback)."""
        host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(self._host, self._host)
        if ":" in host:
            host = f"[{host}]"
        scheme = "https" if self._tls else "http"
        return f"{scheme}://{host}:{self.port}"

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

    @property
    def access_key(self) -> str:
        return self.backend.identity.access_key

    @property
    def secret_key(self) -> str:
        return self.backend.identity.secret_key

    @property
    def project_id(self) -> str:
        return self.backend.identity.project_id

    @property
    def region(self) -> str:
        return self.backend.identity.region

    def start(self) -> EmulatorServer:
        if self._server is not None:
            return self
        try:
            server = make_server(
                self._host,
                self._port,
                self.app,
                threaded=True,
                request_handler=_QuietHandler,
                ssl_context=self._ssl_context(),
            )
        except SystemExit as exc:  # werkzeug exits when it cannot bind
            raise OSError(f"cannot listen on {self._host}:{self._port}") from exc
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="ims-emulator", daemon=True
        )
        self._thread.start()
        return self

    def _ssl_context(self) -> ssl.SSLContext | None:
        if self._tls is None:
            return None
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(*self._tls)
        return context

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
