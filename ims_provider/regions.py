"""One IMS client per region: the provider's own, and those its copies across regions need.

An image copied to another region lives there: it is read, changed and deleted through that region's
endpoint, as that region's project. The clients share the configuration (credentials, TLS, retries) and are
made once per region, on first use, by whichever worker thread asks first.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from ims_provider.client import ImsClient
from ims_provider.config import ProviderConfig

__all__ = ["RegionalClients"]


class RegionalClients:
    """``clients(region)``: the client for ``region`` (the provider's own for None or its own region)."""

    def __init__(self, home: ImsClient, factory: Callable[[ProviderConfig], ImsClient] = ImsClient) -> None:
        self.home = home
        self._factory = factory
        self._lock = threading.Lock()
        self._others: dict[str, ImsClient] = {}

    @property
    def region(self) -> str:
        return self.home.config.region

    def __call__(self, region: str | None) -> ImsClient:
        if not region or region == self.region:
            return self.home
        with self._lock:
            client = self._others.get(region)
            if client is None:
                client = self._others[region] = self._factory(self.home.config.for_region(region))
            return client
