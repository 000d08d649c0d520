"""The engine side: one dynamic ResourceProvider per resource type, run by the Pulumi host.

The Python host calls ``create(props)`` and friends without the resource's type, so each resource has its own
provider class. Each is pickled by reference (it lives in an importable module and takes no constructor
arguments), so the ``__provider`` blob in state is tiny and holds nothing secret; the class names and this
module's path are part of every stack's state and must not change. Configuration and credentials are read in
``configure()``, inside the host process, and never reach inputs, outputs or the blob.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Generic, Protocol, TypeVar

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
from ims_provider.config import ProviderConfig, load_config, region_of
from ims_provider.copies import CopyLifecycle
from ims_provider.errors import ConfigError
from ims_provider.hostpool import widen_host
from ims_provider.lifecycle import ImageLifecycle
from ims_provider.model.image_copy import IMAGE_COPY, check_copy, refused_in_place
from ims_provider.model.image_share import (
    IMAGE_SHARE,
    IMAGE_SHARE_ACCEPTER,
    check_accepter,
    check_share,
)
from ims_provider.model.private_image import PRIVATE_IMAGE, check_inputs
from ims_provider.model.rules import Failure
from ims_provider.model.schema import APPLIED, ResourceSchema
from ims_provider.operations import ImageRecord, RunOptions
from ims_provider.regions import RegionalClients
from ims_provider.shares import AccepterLifecycle, ShareLifecycle

__all__ = ["ImageCopyProvider", "ImageShareAccepterProvider", "ImageShareProvider", "PrivateImageProvider"]


class Lifecycle(Protocol):
    def create(self, props: Mapping[str, Any]) -> ImageRecord: ...
    def read(self, image_id: str, props: Mapping[str, Any]) -> ImageRecord | None: ...
    def update(self, image_id: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> dict[str, Any]: ...
    def delete(self, image_id: str, props: Mapping[str, Any]) -> None: ...


L = TypeVar("L", bound=Lifecycle)


def _options(config: ProviderConfig) -> RunOptions:
    """The stack's settings for how operations run."""
    return RunOptions(
        progress=config.progress, poll_delay=config.poll_delay, recovery_grace=config.recovery_grace
    )


class _ImsProvider(ResourceProvider, Generic[L]):
    """What every resource's provider does alike: configure once per host, diff against the inputs last
    applied, store outputs, and hand refresh the inputs IMS now says."""

    serialize_as_secret_always = False  # the blob is a module reference: nothing secret to hide
    schema: ResourceSchema

    _lifecycle: L | None = None
    _config_error: ConfigError | None = None
    _region: str = ""

    def configure(self, req: ConfigureRequest) -> None:
        """Read stack config and the environment once per host; a bad config fails the first API call."""
        self._region = region_of(req.config.get, os.environ)
        try:
            config = load_config(req.config.get, os.environ)
        except ConfigError as exc:
            self._config_error = exc
            return
        widen_host(config.max_parallel)  # once per host process; see ims_provider.hostpool
        self._lifecycle = self._build(ImsClient(config), config)

    def _build(self, client: ImsClient, config: ProviderConfig) -> L:
        raise NotImplementedError

    def _ops(self) -> L:
        if self._lifecycle is not None:
            return self._lifecycle
        if self._config_error is not None:
            raise self._config_error
        self.configure(ConfigureRequest(Config({}, "ims")))  # no Configure RPC: environment only
        if self._lifecycle is None:
            raise self._config_error or ConfigError("the IMS provider is not configured")
        return self._lifecycle

    # --- engine calls ----------------------------------------------------------------------------------

    def _check(self, news: Mapping[str, Any]) -> list[Failure]:
        raise NotImplementedError

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = [CheckFailure(f.property, f.reason) for f in self._check(news)]
        return CheckResult(news, failures)

    def _replaces(
        self,
        id_: str,
        changed: list[str],
        old: dict[str, Any],
        new: dict[str, Any],
        state: Mapping[str, Any],
    ) -> list[str]:
        """Of the changed inputs, those that need a new resource (``state``: the old outputs)."""
        return self.schema.replaces(changed, old, new)

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """The program against the inputs last applied (kept in the old outputs, all the host gives), never
        against IMS's own values; what needs a new resource is the model's (``Change.REPLACE``).

        An unknown value (a preview of a value another resource computes) counts as a change. A region left
        out and the region it stands for are the same (``ResourceSchema.located``). Not
        ``delete_before_replace`` (image names need not be unique, and the old image stays usable until its
        replacement is active) unless the model says so (``replace_deletes_first``: an acceptance).
        """
        old = self.schema.located(self.schema.applied_inputs(olds), self.schema.lives_in(olds, self._region))
        new = self.schema.located(self.schema.set_inputs(news), self._region)
        changed = self.schema.changed(old, new)
        replaces = self._replaces(id_, changed, old, new, olds)
        stables = sorted(self.schema.replacing - set(changed))
        return DiffResult(
            changes=bool(changed),
            replaces=replaces,
            stables=stables,
            delete_before_replace=bool(replaces) and self.schema.replace_deletes_first,
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        record = self._ops().create(props)
        return CreateResult(record.id, record.outputs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """Refresh (props = old outputs) and ``get`` (props = none, or the program's inputs).

        The returned inputs carry the live mutable values, so the next preview diffs the program against
        what IMS has now; an empty ID tells the engine the resource is gone.
        """
        record = self._ops().read(id_, props)
        if record is None:
            return ReadResult("", {})
        return ReadResult(record.id, record.outputs, dict(record.outputs[APPLIED]))

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(self._ops().update(id_, olds, news))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        self._ops().delete(id_, props)


class PrivateImageProvider(_ImsProvider[ImageLifecycle]):
    """Creates, reads, updates and deletes IMS private images; one instance serves every host thread."""

    schema = PRIVATE_IMAGE

    def _build(self, client: ImsClient, config: ProviderConfig) -> ImageLifecycle:
        return ImageLifecycle(client, _options(config))

    def _check(self, news: Mapping[str, Any]) -> list[Failure]:
        return check_inputs(news)

    def _replaces(
        self,
        id_: str,
        changed: list[str],
        old: dict[str, Any],
        new: dict[str, Any],
        state: Mapping[str, Any],
    ) -> list[str]:
        if id_ and new.get("existing_image_id") == id_:
            return []  # the program now names this very image: replacing would adopt it, then delete it
        return super()._replaces(id_, changed, old, new, state)


class ImageCopyProvider(_ImsProvider[CopyLifecycle]):
    """Copies an image within the provider's region or to another, and looks after the copy there."""

    schema = IMAGE_COPY

    def _build(self, client: ImsClient, config: ProviderConfig) -> CopyLifecycle:
        return CopyLifecycle(RegionalClients(client), _options(config))

    def _check(self, news: Mapping[str, Any]) -> list[Failure]:
        return check_copy(news, self._region)

    def _replaces(
        self,
        id_: str,
        changed: list[str],
        old: dict[str, Any],
        new: dict[str, Any],
        state: Mapping[str, Any],
    ) -> list[str]:
        refused = set(refused_in_place(changed, state.get("image_type")))
        replaced = set(super()._replaces(id_, changed, old, new, state)) | refused
        return [name for name in changed if name in replaced]


class ImageShareProvider(_ImsProvider[ShareLifecycle]):
    """Shares an image with projects (members added, removed in place, removed on delete)."""

    schema = IMAGE_SHARE

    def _build(self, client: ImsClient, config: ProviderConfig) -> ShareLifecycle:
        return ShareLifecycle(RegionalClients(client), _options(config))

    def _check(self, news: Mapping[str, Any]) -> list[Failure]:
        return check_share(news)


class ImageShareAccepterProvider(_ImsProvider[AccepterLifecycle]):
    """Accepts, as the configured (member) project, an image another project shared with it."""

    schema = IMAGE_SHARE_ACCEPTER

    def _build(self, client: ImsClient, config: ProviderConfig) -> AccepterLifecycle:
        return AccepterLifecycle(RegionalClients(client), _options(config))

    def _check(self, news: Mapping[str, Any]) -> list[Failure]:
        return check_accepter(news)
