"""The engine side: PrivateImageProvider, the dynamic ResourceProvider the Pulumi host runs.

The class is pickled by reference (it lives in an importable module and takes no constructor arguments),
so the ``__provider`` blob in state is tiny and holds nothing secret. Configuration and credentials are
read in ``configure()``, inside the host process, and never reach inputs, outputs or the blob.
"""

from __future__ import annotations

import os
from typing import Any

from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)
from pulumi.dynamic.config import Config

from ims_provider.client import ImsClient
from ims_provider.config import ProviderConfig, load_config
from ims_provider.errors import ConfigError
from ims_provider.hostpool import widen_host
from ims_provider.lifecycle import ImageLifecycle
from ims_provider.model.private_image import PRIVATE_IMAGE, check_inputs
from ims_provider.model.schema import APPLIED


class PrivateImageProvider(ResourceProvider):
    """Creates, reads, updates and deletes IMS private images; one instance serves every host thread."""

    serialize_as_secret_always = False  # the blob is a module reference: nothing secret to hide

    _lifecycle: ImageLifecycle | None = None
    _config_error: ConfigError | None = None

    def configure(self, req: ConfigureRequest) -> None:
        """Read stack config and the environment once per host; a bad config fails the first API call."""
        try:
            config = load_config(req.config.get, os.environ)
        except ConfigError as exc:
            self._config_error = exc
            return
        widen_host(config.max_parallel)  # once per host process; see ims_provider.hostpool
        self._install(config)

    def _install(self, config: ProviderConfig) -> None:
        self._lifecycle = ImageLifecycle(
            ImsClient(config), progress=config.progress, poll_delay=config.poll_delay
        )

    def _ops(self) -> ImageLifecycle:
        if self._lifecycle is not None:
            return self._lifecycle
        if self._config_error is not None:
            raise self._config_error
        self.configure(ConfigureRequest(Config({}, "ims")))  # no Configure RPC: environment only
        if self._lifecycle is None:
            raise self._config_error or ConfigError("the IMS provider is not configured")
        return self._lifecycle

    # --- engine calls ----------------------------------------------------------------------------------

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = [CheckFailure(f.property, f.reason) for f in check_inputs(news)]
        return CheckResult(news, failures)

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """The program against the inputs last applied (kept in the old outputs, all the host gives), never
        against IMS's own values; what needs a new image is the model's (``Change.REPLACE``).

        An unknown value (a preview of a value another resource computes) counts as a change. Never
        ``delete_before_replace``: image names need not be unique, and the old image stays usable until its
        replacement is active.
        """
        old = PRIVATE_IMAGE.applied_inputs(olds)
        new = PRIVATE_IMAGE.set_inputs(news)
        changed = PRIVATE_IMAGE.changed(old, new)
        replaces = PRIVATE_IMAGE.replaces(changed, old, new)
        if id_ and new.get("existing_image_id") == id_:
            replaces = []  # the program now names this very image: replacing would adopt it, then delete it
        stables = sorted(PRIVATE_IMAGE.replacing - set(changed))
        return DiffResult(
            changes=bool(changed), replaces=replaces, stables=stables, delete_before_replace=False
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        record = self._ops().create(props)
        return CreateResult(record.id, record.outputs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Refresh (props = old outputs) and ``PrivateImage.get`` (props = just ``__provider``).

        The returned inputs carry the live mutable values, so the next preview diffs the program against
        what IMS has now; an empty ID tells the engine the image is gone.
        """
        record = self._ops().read(id_, props)
        if record is None:
            return ReadResult("", {})
        return ReadResult(record.id, record.outputs, dict(record.outputs[APPLIED]))

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(self._ops().update(id_, olds, news))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        self._ops().delete(id_, props)
