"""Where credentials come from: whole sets, in one declared order, never one field from each place.

A security token belongs to the access key it was issued with, and a secret key to its access key, so the
three are read together from one place (a *key set*). Mixing them is how a stale ``HW_SECURITY_TOKEN`` from
the shell ends up sent with the permanent keys of the stack config, a 401 nobody can explain. The order
below is the only statement of precedence: resolution, error messages, the debug line and the README table
are all written from it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from .errors import ConfigError

__all__ = [
    "CREDENTIALS",
    "CredentialSource",
    "Credentials",
    "KeySet",
    "Origin",
    "Reader",
    "TokenSource",
    "credential_hint",
    "credentials_table",
    "resolve_credentials",
]

Origin = Literal["config", "env"]
# Reads one name from stack config ("config") or the environment ("env"); None when unset or blank.
Reader = Callable[[Origin, str], str | None]

_DASH = "\u2013"


@dataclass(frozen=True)
class KeySet:
    """The names of one place's access key, secret key and security token, which are used together."""

    origin: Origin
    access_key: str
    secret_key: str
    security_token: str

    @property
    def names(self) -> tuple[str, str, str]:
        return (self.access_key, self.secret_key, self.security_token)

    def label(self) -> str:
        return f"{self.origin} {'/'.join(self.names)}"

    def qualified(self, name: str) -> str:
        return f"{self.origin} {name}"


@dataclass(frozen=True)
class TokenSource:
    """The name of one place's IAM token (sent as ``X-Auth-Token`` instead of an AK/SK signature)."""

    origin: Origin
    token: str

    @property
    def names(self) -> tuple[str]:
        return (self.token,)

    def label(self) -> str:
        return f"{self.origin} {self.token}"


CredentialSource = KeySet | TokenSource

# First match wins. A stack's IAM token beats keys left in the environment, but keys in the stack beat it.
CREDENTIALS: tuple[CredentialSource, ...] = (
    KeySet("config", "ims:accessKey", "ims:secretKey", "ims:securityToken"),
    KeySet("config", "huaweicloud:accessKey", "huaweicloud:secretKey", "huaweicloud:securityToken"),
    TokenSource("config", "ims:authToken"),
    KeySet("env", "HW_ACCESS_KEY", "HW_SECRET_KEY", "HW_SECURITY_TOKEN"),
    KeySet("env", "HUAWEICLOUD_SDK_AK", "HUAWEICLOUD_SDK_SK", "HUAWEICLOUD_SDK_SECURITY_TOKEN"),
    KeySet("env", "OS_ACCESS_KEY", "OS_SECRET_KEY", "OS_SECURITY_TOKEN"),
    TokenSource("env", "HW_AUTH_TOKEN"),
)


@dataclass(frozen=True)
class Credentials:
    """The credentials chosen and the label of the one source they all came from."""

    source: str
    access_key: str | None = field(default=None, repr=False)
    secret_key: str | None = field(default=None, repr=False)
    security_token: str | None = field(default=None, repr=False)
    auth_token: str | None = field(default=None, repr=False)


def resolve_credentials(read: Reader) -> Credentials:
    """The credentials of the first source in :data:`CREDENTIALS` that has any.

    A key set counts when it has an access key or a secret key; one without the other is an error naming
    both, even when a later source is complete (using the later one would sign with keys the user did not
    mean). A security token on its own does not make a set count: it is ignored, as it could only ever be
    sent with the keys it was issued with. Messages name keys and variables, never values.
    """
    for source in CREDENTIALS:
        if isinstance(source, TokenSource):
            token = read(source.origin, source.token)
            if token:
                return Credentials(source.label(), auth_token=token)
            continue
        access_key, secret_key, security_token = (read(source.origin, n) for n in source.names)
        if access_key and secret_key:
            return Credentials(source.label(), access_key, secret_key, security_token)
        if access_key or secret_key:
            given, missing = source.names[:2] if access_key else source.names[1::-1]
            raise ConfigError(
                f"{source.qualified(given)} is set but {source.qualified(missing)} is not: an access key, "
                "its secret key and its security token are used together, from the first place that has "
                f"either key, and never completed from another place; set {source.qualified(missing)} or "
                f"remove {source.qualified(given)} (precedence: {_order()})"
            )
    raise ConfigError("no credentials configured: " + credential_hint())


def credential_hint() -> str:
    """Every place credentials are looked for, in order (names only)."""
    return f"set one of, in order of precedence: {_order()}"


def _order() -> str:
    parts = []
    for source in CREDENTIALS:
        if isinstance(source, KeySet):
            parts.append(
                f"{source.origin} {source.access_key} + {source.secret_key} (+ {source.security_token})"
            )
        else:
            parts.append(f"{source.origin} {source.token} (IAM token)")
    return "; ".join(parts)


def credentials_table() -> str:
    """The README's credentials table, one row per source in precedence order."""
    rows = ["| Order | Credentials | Stack config | Environment |", "|---|---|---|---|"]
    for order, source in enumerate(CREDENTIALS, start=1):
        kind = "access key, secret key, security token" if isinstance(source, KeySet) else "IAM token"
        names = ", ".join(f"`{n}`" for n in source.names)
        config, env = (names, _DASH) if source.origin == "config" else (_DASH, names)
        rows.append(f"| {order} | {kind} | {config} | {env} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(credentials_table())
