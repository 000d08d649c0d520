"""Provider configuration: stack config (``ims:*`` and ``huaweicloud:*`` keys) and environment variables.

The Pulumi host hands ``configure()`` the whole stack config with namespaced keys, so users of
``pulumi-huaweicloud`` can reuse their ``huaweicloud:*`` settings, and the usual Huawei Cloud / SDK /
OpenStack environment variables work too. Each plain setting takes its first source; credentials come as
whole sets (:mod:`ims_provider.credentials`). Error messages name the keys and variables that were looked
at, never their values.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

from requests.auth import AuthBase

from .auth import AkSkAuth, TokenAuth
from .credentials import Origin, Reader, credential_hint, resolve_credentials
from .errors import ConfigError
from .hostpool import DEFAULT_FLOOR, HOST_WORKERS, MAX_WORKERS, default_workers

__all__ = ["SOURCES", "ProviderConfig", "Source", "config_table", "load_config", "region_of"]


@dataclass(frozen=True)
class Source:
    """Where one setting may come from, in precedence order: stack config keys, then env vars.
    Credentials are not settings of their own: see :data:`ims_provider.credentials.CREDENTIALS`."""

    keys: tuple[str, ...]
    env: tuple[str, ...] = ()
    setting: str = ""  # what the README's configuration table calls it
    note: str = ""  # its default, and what it is for (the table's last column)

    def names(self) -> str:
        parts = [f"config {k}" for k in self.keys] + [f"env {e}" for e in self.env]
        return ", ".join(parts)


SOURCES: Mapping[str, Source] = {
    "region": Source(
        ("ims:region", "huaweicloud:region"),
        ("HW_REGION_NAME", "HUAWEICLOUD_SDK_REGION", "OS_REGION_NAME"),
        "region",
        "required (it is also the IAM project name), unless both a project ID and `ims:endpoint` are set",
    ),
    "project_id": Source(
        ("ims:projectId", "huaweicloud:projectId"),
        ("HW_PROJECT_ID", "HUAWEICLOUD_SDK_PROJECT_ID", "OS_PROJECT_ID"),
        "project ID",
        "looked up once through IAM (`GET /v3/projects?name=<region>`) when not set",
    ),
    "endpoint": Source(
        ("ims:endpoint",),
        ("IMS_ENDPOINT",),
        "IMS endpoint",
        "`https://ims.<region>.myhuaweicloud.com`; set it for the emulator or another cloud built on "
        "Huawei's stack",
    ),
    # Other regions' IMS endpoints, for copies across regions: a JSON object {"<region>": "<url>"}. A region
    # it does not name uses https://ims.<region>.myhuaweicloud.com.
    "region_endpoints": Source(
        ("ims:regionEndpoints",),
        ("IMS_REGION_ENDPOINTS",),
        "other regions' endpoints",
        'a JSON object `{"<region>": "<IMS endpoint>"}` for the regions images are copied to, shared or '
        "accepted in (`region`, `target_region`); a region it does not name uses the public pattern; their "
        "projects are looked up through IAM (at `ims:iamEndpoint` when set, else at the region's endpoint "
        "when it is overridden here)",
    ),
    "iam_endpoint": Source(
        ("ims:iamEndpoint", "huaweicloud:authUrl"),
        (),
        "IAM endpoint",
        "a trailing `/v3` is dropped; default: `ims:endpoint` when that is set, else "
        "`https://iam.<region>.myhuaweicloud.com`",
    ),
    "ca_bundle": Source(
        ("ims:caBundle",),
        ("IMS_CA_BUNDLE",),
        "CA bundle",
        "a PEM file for private clouds; TLS verification is always on otherwise",
    ),
    "insecure": Source(
        ("ims:insecure",),
        (),
        "insecure",
        "`true` turns certificate verification off, with a loud warning; never the default",
    ),
    "progress": Source(("ims:progress",), (), "progress", "`false` silences the progress lines"),
    "debug": Source(
        ("ims:debug",),
        (),
        "debug",
        "`true` prints every request and response as `ims-debug:` lines (secrets and signatures redacted)",
    ),
    "poll_delay": Source(
        ("ims:pollDelay",),
        (),
        "poll delay",
        "seconds before the first job poll (default 10, as Terraform); tests use a small value",
    ),
    "recovery_grace": Source(
        ("ims:recoveryGrace",),
        (),
        "recovery grace",
        "seconds IMS is given to show what it accepted: the image of a create request whose answer was lost "
        "(looked for before the request is sent again), and a submitted job its job APIs do not know yet "
        "(default 60)",
    ),
    "max_parallel": Source(
        ("ims:maxParallel",),
        (),
        "max parallel",
        f"how many operations of the stack's dynamic resources the provider host runs at once: "
        f"{HOST_WORKERS} to {MAX_WORKERS}, default the engine's own parallelism (4 x CPUs, or "
        f"`PULUMI_PARALLEL`) but at least {DEFAULT_FLOOR}; `{HOST_WORKERS}` leaves the host as Pulumi made "
        "it (see [Many images at once](#many-images-at-once))",
    ),
}


def config_table() -> str:
    """The README's configuration table: one row per setting, its sources in precedence order."""
    rows = ["| Setting | Stack config | Environment | Default / notes |", "|---|---|---|---|"]
    for source in SOURCES.values():
        keys = ", ".join(f"`{k}`" for k in source.keys)
        env = ", ".join(f"`{e}`" for e in source.env) or "\u2013"
        rows.append(f"| {source.setting} | {keys} | {env} | {source.note} |")
    return "\n".join(rows)


_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})
_REGION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_WHOLE = re.compile(r"^[0-9]{1,6}$")


@dataclass(frozen=True)
class ProviderConfig:
    """Resolved, validated settings. Secret fields stay out of ``repr``; use :meth:`describe` to log."""

    region: str  # "" only when both project_id and endpoint are configured
    project_id: str | None
    endpoint: str
    iam_endpoint: str
    # True when iam_endpoint is the IMS endpoint override, for want of ims:iamEndpoint (see project_hint).
    iam_endpoint_derived: bool = False
    access_key: str | None = field(default=None, repr=False)
    secret_key: str | None = field(default=None, repr=False)
    security_token: str | None = field(default=None, repr=False)
    auth_token: str | None = field(default=None, repr=False)
    ca_bundle: str | None = None
    insecure: bool = False
    progress: bool = True
    debug: bool = False
    poll_delay: float | None = None  # seconds before the first job poll; None = the waiter's default
    # After a create request whose answer was lost: seconds to look for the image it may have made before
    # sending it again. None = the lifecycle's default.
    recovery_grace: float | None = None
    # (region, IMS endpoint) for regions other than this one, from ims:regionEndpoints
    region_endpoints: tuple[tuple[str, str], ...] = ()
    # Operations the dynamic provider host runs at once, for every dynamic resource of the stack (see
    # ims_provider.hostpool); also the HTTP connections kept open to each endpoint. 4 leaves the host alone.
    max_parallel: int = DEFAULT_FLOOR
    sources: tuple[tuple[str, str], ...] = field(default=(), repr=False, compare=False)

    @property
    def uses_aksk(self) -> bool:
        return bool(self.access_key and self.secret_key)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every secret value configured, for redaction."""
        return tuple(s for s in (self.secret_key, self.security_token, self.auth_token) if s)

    def auth(self, *, project_id: str | None = None) -> AuthBase:
        """The ``requests`` auth object for IMS calls; ``project_id`` overrides the configured one."""
        pid = project_id or self.project_id
        if self.access_key and self.secret_key:
            return AkSkAuth(
                self.access_key, self.secret_key, project_id=pid, security_token=self.security_token
            )
        if self.auth_token:
            return TokenAuth(self.auth_token, project_id=pid)
        raise ConfigError("no credentials configured: " + credential_hint())

    def for_region(self, region: str) -> ProviderConfig:
        """The same credentials and settings, pointed at another region: its endpoint from
        ``ims:regionEndpoints`` or the public pattern, its project looked up through IAM (the default project
        of a region is named after it). IAM is the configured ``ims:iamEndpoint``, else the region's own
        endpoint when it is overridden (an emulator or private cloud serves IAM there), else the public
        one."""
        if region == self.region:
            return self
        overrides = dict(self.region_endpoints)
        endpoint = overrides.get(region, f"https://ims.{region}.myhuaweicloud.com")
        where = dict(self.sources)
        explicit_iam = not self.iam_endpoint_derived and where.get("iam_endpoint") not in (None, "default")
        if explicit_iam:
            iam, derived = self.iam_endpoint, False
        elif region in overrides:
            iam, derived = endpoint, True
        else:
            iam, derived = f"https://iam.{region}.myhuaweicloud.com", False
        origin = where.get("region_endpoints", "") if region in overrides else "default"
        sources = {**where, "region": f"for images in {region}", "endpoint": origin or "default"}
        sources.pop("project_id", None)
        return replace(
            self,
            region=region,
            project_id=None,
            endpoint=endpoint,
            iam_endpoint=iam,
            iam_endpoint_derived=derived,
            sources=tuple(sorted(sources.items())),
        )

    def project_hint(self) -> str:
        """What to set when the IAM project lookup fails, and where the IAM endpoint it asked came from
        (names and the endpoint's URL only)."""
        where = dict(self.sources)
        if self.iam_endpoint_derived:
            asked = (
                f"the IAM endpoint asked, {self.iam_endpoint}, is the IMS endpoint (derived from "
                f"{where.get('endpoint', 'ims:endpoint')}) because neither ims:projectId nor ims:iamEndpoint "
                "is set"
            )
        else:
            origin = where.get("iam_endpoint", "default")
            asked = f"the IAM endpoint asked, {self.iam_endpoint}, is " + (
                f"the default for region {self.region!r}" if origin == "default" else f"from {origin}"
            )
        return (
            f"{asked}; set the project id ({SOURCES['project_id'].names()}) to skip the lookup, or the IAM "
            f"endpoint ({SOURCES['iam_endpoint'].names()}) to ask another one"
        )

    def describe(self) -> dict[str, object]:
        """A dict safe to log: no secret values, only whether they are set and where they came from."""
        if self.uses_aksk:
            method = "aksk+securityToken" if self.security_token else "aksk"
        else:
            method = "token" if self.auth_token else "none"
        return {
            "region": self.region,
            "project_id": self.project_id,
            "endpoint": self.endpoint,
            "iam_endpoint": self.iam_endpoint,
            "auth": method,
            "access_key": _mask(self.access_key),
            "ca_bundle": self.ca_bundle,
            "insecure": self.insecure,
            "progress": self.progress,
            "debug": self.debug,
            "poll_delay": self.poll_delay,
            "recovery_grace": self.recovery_grace,
            "region_endpoints": dict(self.region_endpoints),
            "max_parallel": self.max_parallel,
            "sources": dict(self.sources),
        }


def _mask(value: str | None) -> str | None:
    if not value:
        return None
    return value[:4] + "***" if len(value) > 8 else "***"


def _reader(get: Callable[[str], str | None], environ: Mapping[str, str]) -> Reader:
    """One name from stack config or the environment, stripped; blank counts as unset."""

    def read(origin: Origin, name: str) -> str | None:
        value = get(name) if origin == "config" else environ.get(name)
        if value is None or not str(value).strip():
            return None
        return str(value).strip()

    return read


def _lookup(name: str, read: Reader) -> tuple[str | None, str | None]:
    """First non-blank value for setting ``name`` and a label of where it came from."""
    source = SOURCES[name]
    places: list[tuple[Origin, str]] = [("config", k) for k in source.keys] + [("env", e) for e in source.env]
    for origin, key in places:
        value = read(origin, key)
        if value is not None:
            return value, f"{origin} {key}"
    return None, None


def _bool(name: str, raw: str | None, where: str | None, default: bool) -> bool:
    if raw is None:
        return default
    lowered = raw.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigError(f"{where} must be true or false (setting {name})")


def _seconds(raw: str | None, where: str | None) -> float | None:
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 3600:
        raise ConfigError(f"{where} must be a number of seconds between 0 and 3600")
    return value


def _workers(raw: str | None, where: str | None, environ: Mapping[str, str]) -> int:
    if raw is None:
        return default_workers(environ)
    if not (_WHOLE.match(raw) and HOST_WORKERS <= int(raw) <= MAX_WORKERS):
        raise ConfigError(
            f"{where} must be a whole number from {HOST_WORKERS} to {MAX_WORKERS}: the operations the "
            f"dynamic provider host runs at once ({HOST_WORKERS}, the host's own, leaves it as it is; to run "
            "fewer use `pulumi up --parallel`)"
        )
    return int(raw)


def _url(raw: str, where: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{where} must be an http:// or https:// URL with a host")
    if parts.query or parts.fragment:
        raise ConfigError(f"{where} must not have a query string or fragment")
    return raw.rstrip("/")


def region_of(get: Callable[[str], str | None], environ: Mapping[str, str] | None = None) -> str:
    """The configured region alone ("" when none), for checks that need it even when the rest of the
    configuration is incomplete (``check`` needs no credentials)."""
    value, _ = _lookup("region", _reader(get, os.environ if environ is None else environ))
    return value or ""


def load_config(get: Callable[[str], str | None], environ: Mapping[str, str] | None = None) -> ProviderConfig:
    """Resolve and validate the configuration; the first source that has a value wins (for credentials,
    the first source that has a key set or token gives all of it).

    ``get`` reads a namespaced stack config key (``lambda k: req.config.get(k)`` in ``configure()``);
    ``environ`` defaults to ``os.environ``. Raises :class:`ConfigError` naming every key looked at.
    """
    env = os.environ if environ is None else environ
    read = _reader(get, env)
    values: dict[str, str | None] = {}
    sources: dict[str, str] = {}
    for name in SOURCES:
        value, where = _lookup(name, read)
        values[name] = value
        if where is not None:
            sources[name] = where

    region = values["region"] or ""
    project_id = values["project_id"]
    endpoint_raw = values["endpoint"]
    if not region and not (project_id and endpoint_raw):
        raise ConfigError(
            f"no region configured: set one of {SOURCES['region'].names()} "
            "(a region may only be left out when both a project id and ims:endpoint are set)"
        )
    if region and not _REGION.match(region):
        raise ConfigError(f"{sources['region']} is not a valid region id")

    credentials = resolve_credentials(read)
    sources["credentials"] = credentials.source

    if endpoint_raw:
        endpoint = _url(endpoint_raw, sources["endpoint"])
    else:
        endpoint = f"https://ims.{region}.myhuaweicloud.com"
        sources["endpoint"] = "default"

    iam_raw = values["iam_endpoint"]
    if iam_raw:
        iam_endpoint = _url(iam_raw, sources["iam_endpoint"])
        if iam_endpoint.endswith("/v3"):
            iam_endpoint = iam_endpoint[: -len("/v3")]
    elif endpoint_raw:  # an emulator or private cloud serves IAM's project list on the IMS host
        iam_endpoint = endpoint
        sources["iam_endpoint"] = f"derived from {sources['endpoint']}"
    else:
        iam_endpoint = f"https://iam.{region}.myhuaweicloud.com"
        sources["iam_endpoint"] = "default"

    region_endpoints = _endpoint_map(values["region_endpoints"], sources.get("region_endpoints"))
    ca_bundle = values["ca_bundle"]
    if ca_bundle is not None and not os.path.isfile(ca_bundle):
        raise ConfigError(f"{sources['ca_bundle']} does not name an existing file")

    return ProviderConfig(
        region=region,
        project_id=project_id,
        endpoint=endpoint,
        iam_endpoint=iam_endpoint,
        iam_endpoint_derived=bool(endpoint_raw and not iam_raw),
        access_key=credentials.access_key,
        secret_key=credentials.secret_key,
        security_token=credentials.security_token,
        auth_token=credentials.auth_token,
        ca_bundle=ca_bundle,
        insecure=_bool("insecure", values["insecure"], sources.get("insecure"), False),
        progress=_bool("progress", values["progress"], sources.get("progress"), True),
        debug=_bool("debug", values["debug"], sources.get("debug"), False),
        poll_delay=_seconds(values["poll_delay"], sources.get("poll_delay")),
        recovery_grace=_seconds(values["recovery_grace"], sources.get("recovery_grace")),
        region_endpoints=region_endpoints,
        max_parallel=_workers(values["max_parallel"], sources.get("max_parallel"), env),
        sources=tuple(sorted(sources.items())),
    )


def _endpoint_map(raw: str | None, where: str | None) -> tuple[tuple[str, str], ...]:
    """``ims:regionEndpoints``: a JSON object of region IDs to IMS endpoint URLs."""
    if raw is None:
        return ()
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict) or not all(isinstance(v, str) for v in parsed.values()):
        raise ConfigError(
            f'{where} must be a JSON object of region IDs to endpoint URLs, e.g. {{"cn-south-1": '
            '"https://ims.cn-south-1.example.com"}'
        )
    result = []
    for region, url in sorted(parsed.items()):
        if not _REGION.match(region):
            raise ConfigError(f"{where}: {region!r} is not a valid region id")
        result.append((region, _url(url, f"{where} ({region})")))
    return tuple(result)
