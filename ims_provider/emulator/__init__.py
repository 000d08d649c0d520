"""ims-emulator: a local, stateful, wire-compatible Huawei Cloud IMS (plus the ECS/EVS/OBS facts it needs).

Start one in-process with `EmulatorServer`, drive it with `AdminClient`; see README.md in this folder.
"""

from ims_provider.emulator.accounts import (
    DEFAULT_AGENCY,
    MEMBER_ACCESS_KEY,
    MEMBER_ACCOUNT,
    MEMBER_DOMAIN_ID,
    MEMBER_SECRET_KEY,
    Account,
    Caller,
)
from ims_provider.emulator.admin import AdminClient, AdminError
from ims_provider.emulator.backend import Backend
from ims_provider.emulator.clock import EmulatorClock
from ims_provider.emulator.errors import GatewayError, ImsError
from ims_provider.emulator.server import EmulatorServer
from ims_provider.emulator.settings import Identity, Settings

DEFAULT_ACCESS_KEY = Identity.access_key
DEFAULT_SECRET_KEY = Identity.secret_key
DEFAULT_PROJECT_ID = Identity.project_id
DEFAULT_REGION = Identity.region

__all__ = [
    "DEFAULT_ACCESS_KEY",
    "DEFAULT_AGENCY",
    "DEFAULT_PROJECT_ID",
    "DEFAULT_REGION",
    "DEFAULT_SECRET_KEY",
    "MEMBER_ACCESS_KEY",
    "MEMBER_ACCOUNT",
    "MEMBER_DOMAIN_ID",
    "MEMBER_SECRET_KEY",
    "Account",
    "AdminClient",
    "AdminError",
    "Backend",
    "Caller",
    "EmulatorClock",
    "EmulatorServer",
    "GatewayError",
    "Identity",
    "ImsError",
    "Settings",
]
