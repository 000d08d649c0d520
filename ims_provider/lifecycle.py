"""Create, read, update and delete of one PrivateImage against IMS, independent of the Pulumi engine.

``provider.py`` adapts these to the dynamic-provider interface; tests and benchmarks can drive them
directly. Each operation owns its deadline (the engine passes none to a Python dynamic provider).
:class:`ImageLifecycle` only wires the work to one client and clock and sends each call to where it is done:
making images (and recovering interrupted attempts) in :mod:`ims_provider.create`, everything done to an
image that exists (adopt, read, update, delete) in :mod:`ims_provider.upkeep`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ims_provider.client import ImsClient
from ims_provider.create import Creation
from ims_provider.model.private_image import PRIVATE_IMAGE
from ims_provider.operations import DEFAULT_OPTIONS, ImageRecord, RunOptions
from ims_provider.upkeep import Upkeep

__all__ = ["ImageLifecycle"]


class ImageLifecycle:
    """The four operations, sharing one thread-safe client; all per-call state lives in locals."""

    def __init__(self, client: ImsClient, options: RunOptions = DEFAULT_OPTIONS) -> None:
        self.client = client
        self.clock = options.clock
        self.write = options.write
        self.progress = options.progress
        self.creation = Creation(client, options)
        self.upkeep = Upkeep(client, options)

    def create(self, props: Mapping[str, Any]) -> ImageRecord:
        """Make the image, or adopt the one ``existing_image_id`` names."""
        inputs = PRIVATE_IMAGE.set_inputs(props)
        if inputs.get("existing_image_id"):
            return self.upkeep.adopt(inputs, str(inputs["existing_image_id"]))
        return self.creation.create(inputs)

    def read(self, image_id: str, props: Mapping[str, Any]) -> ImageRecord | None:
        return self.upkeep.read(image_id, props)

    def update(self, image_id: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> dict[str, Any]:
        return self.upkeep.update(image_id, olds, news)

    def delete(self, image_id: str, props: Mapping[str, Any]) -> None:
        self.upkeep.delete(image_id, props)
