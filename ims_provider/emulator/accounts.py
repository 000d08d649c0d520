"""The accounts (IAM domains) the emulator serves: their AK/SK, one default project per region, IAM agencies.

IAM names a region's default project after the region (``cn-north-4``), so an account has exactly one project
per region the emulator serves. Project IDs that are not configured are derived from the account's domain and
the region (32 hex characters, the same on every run), so tests and documentation can name them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ims_provider.emulator.settings import Identity

DEFAULT_ACCOUNT = "default"
MEMBER_ACCOUNT = "member"
DEFAULT_AGENCY = "ims_admin_agency"
MEMBER_ACCESS_KEY = "EMULATORMEMBERKEY"
MEMBER_SECRET_KEY = "EMULATORMEMBERSECRET"  # noqa: S105 - the documented emulator default, not a secret
MEMBER_DOMAIN_ID = "f0e1d2c3b4a5968778695a4b3c2d1e0f"

HEX32_RE = re.compile(r"^[0-9a-f]{32}$")
NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
REGION_RE = re.compile(r"^[a-z]{2,}(-[a-z0-9]+)+$")


def derived_project_id(domain_id: str, region: str) -> str:
    """The default project of `domain_id` in `region` when none is configured (stable across runs)."""
    return hashlib.sha256(f"ims-emulator/{domain_id}/{region}".encode()).hexdigest()[:32]


def derived_domain_id(name: str) -> str:
    return hashlib.sha256(f"ims-emulator/domain/{name}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Account:
    """One IAM account: the AK/SK (or token) that identify it, its projects by region, its IMS agencies."""

    name: str
    access_key: str
    secret_key: str = field(repr=False)
    domain_id: str
    projects: Mapping[str, str] = field(default_factory=dict)  # configured region -> project id
    agencies: tuple[str, ...] = (DEFAULT_AGENCY,)
    auth_token: str | None = field(default=None, repr=False)

    def project_in(self, region: str) -> str:
        """The account's (default) project in `region`: configured, else derived."""
        return self.projects.get(region) or derived_project_id(self.domain_id, region)

    def describe(self, regions: Sequence[str]) -> dict[str, Any]:
        """What the admin API shows: never the secret key or the token."""
        return {
            "name": self.name,
            "access_key": self.access_key,
            "domain_id": self.domain_id,
            "projects": {region: self.project_in(region) for region in regions},
            "agencies": list(self.agencies),
        }


@dataclass(frozen=True)
class Caller:
    """Who sent a request, and to which region's endpoint: the account acts in its project there."""

    account: Account
    region: str

    @property
    def project_id(self) -> str:
        return self.account.project_in(self.region)


def _text(spec: Mapping[str, Any], key: str, *, required: bool = False) -> str | None:
    value = spec.get(key)
    if value is None:
        if required:
            raise ValueError(f"an account needs {key}")
        return None
    if not isinstance(value, str) or not value or value != value.strip():
        raise ValueError(f"account {key} must be a non-empty string without surrounding spaces")
    return value


def parse_account(spec: Mapping[str, Any] | Account, regions: Sequence[str]) -> Account:
    """`{name, access_key, secret_key, domain_id?, projects?: {region: id}, agencies?: [..], auth_token?}`."""
    if isinstance(spec, Account):
        return spec
    if not isinstance(spec, Mapping):
        raise ValueError("an account must be a JSON object")
    allowed = {"name", "access_key", "secret_key", "domain_id", "projects", "agencies", "auth_token"}
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise ValueError(f"unknown account field {unknown[0]!r}")
    name = _text(spec, "name", required=True) or ""
    if not NAME_RE.match(name):
        raise ValueError("an account name is 1-32 letters, digits, '-' or '_'")
    domain_id = _text(spec, "domain_id") or derived_domain_id(name)
    if not HEX32_RE.match(domain_id):
        raise ValueError("domain_id must be 32 lower-case hex characters")
    projects = spec.get("projects", {})
    if not isinstance(projects, Mapping):
        raise ValueError("projects must map region ids to project ids")
    for region, project_id in projects.items():
        if region not in regions:
            raise ValueError(f"projects names region {region!r}, which the emulator does not serve")
        if not isinstance(project_id, str) or not HEX32_RE.match(project_id):
            raise ValueError("a project id must be 32 lower-case hex characters")
    agencies = spec.get("agencies", [DEFAULT_AGENCY])
    if not isinstance(agencies, list) or not all(isinstance(a, str) and a for a in agencies):
        raise ValueError("agencies must be a list of agency names")
    return Account(
        name=name,
        access_key=_text(spec, "access_key", required=True) or "",
        secret_key=_text(spec, "secret_key", required=True) or "",
        domain_id=domain_id,
        projects=dict(projects),
        agencies=tuple(agencies),
        auth_token=_text(spec, "auth_token"),
    )


def default_account(identity: Identity, home: str) -> Account:
    """Today's identity: the AK/SK and project the single-account emulator always had (in the home region)."""
    return Account(
        name=DEFAULT_ACCOUNT,
        access_key=identity.access_key,
        secret_key=identity.secret_key,
        domain_id=identity.domain_id,
        projects={home: identity.project_id},
    )


def member_account() -> Account:
    """A second account to share images with: its own domain and derived projects."""
    return Account(
        name=MEMBER_ACCOUNT,
        access_key=MEMBER_ACCESS_KEY,
        secret_key=MEMBER_SECRET_KEY,
        domain_id=MEMBER_DOMAIN_ID,
    )


class Accounts:
    """The accounts of one emulator, looked up by name, access key, token or project."""

    def __init__(self, regions: Sequence[str], accounts: Iterable[Account] = ()) -> None:
        self.regions = tuple(regions)
        self._accounts: dict[str, Account] = {}
        for account in accounts:
            self.add(account)

    def add(self, account: Account) -> Account:
        """Register `account`; ValueError when its name, AK, domain or a project is already taken."""
        if account.name in self._accounts:
            raise ValueError(f"account {account.name} already exists")
        for other in self._accounts.values():
            if other.access_key == account.access_key:
                raise ValueError(f"access key {account.access_key} is already used by account {other.name}")
            if other.domain_id == account.domain_id:
                raise ValueError(f"domain {account.domain_id} is already used by account {other.name}")
            if account.auth_token is not None and other.auth_token == account.auth_token:
                raise ValueError(f"that auth token is already used by account {other.name}")
        if any(self.owner_of(account.project_in(region)) is not None for region in self.regions):
            raise ValueError(f"account {account.name} has a project id another account already uses")
        projects = [account.project_in(region) for region in self.regions]
        if len(set(projects)) != len(projects):
            raise ValueError(f"account {account.name} names one project id for two regions")
        self._accounts[account.name] = account
        return account

    def replace(self, account: Account) -> None:
        """Swap an account for a changed copy of itself (same name, e.g. with one more agency)."""
        if account.name not in self._accounts:
            raise KeyError(account.name)
        self._accounts[account.name] = account

    def __iter__(self) -> Any:
        return iter(list(self._accounts.values()))

    def named(self, name: str) -> Account:
        account = self._accounts.get(name)
        if account is None:
            raise KeyError(f"account {name}")
        return account

    def by_access_key(self, access_key: str) -> Account | None:
        return next((a for a in self._accounts.values() if a.access_key == access_key), None)

    def by_token(self, token: str) -> Account | None:
        return next((a for a in self._accounts.values() if a.auth_token == token), None)

    def secrets(self) -> dict[str, str]:
        return {a.access_key: a.secret_key for a in self._accounts.values()}

    def owner_of(self, project_id: str) -> tuple[Account, str] | None:
        """The account and region of a project the emulator serves, or None."""
        for account in self._accounts.values():
            for region in self.regions:
                if account.project_in(region) == project_id:
                    return account, region
        return None

    def describe(self) -> list[dict[str, Any]]:
        return [a.describe(self.regions) for a in self._accounts.values()]
