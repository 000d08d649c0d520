"""Huawei Cloud IMS private images as code: a Pulumi dynamic provider (``PrivateImage``).

Names are imported lazily so that ``ims_provider.emulator`` (which shares nothing with the provider)
starts without loading Pulumi.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ims_provider.lookup import (
        AmbiguousImageError,
        Image,
        ImageNotFoundError,
        InvalidLookupError,
        get_image,
        get_image_output,
        get_images,
        get_images_output,
    )
    from ims_provider.provider import PrivateImageProvider
    from ims_provider.resource import (
        DataImageArgs,
        ImageCopy,
        ImageCopyArgs,
        ImageShare,
        ImageShareAccepter,
        ImageShareAccepterArgs,
        ImageShareArgs,
        PrivateImage,
        PrivateImageArgs,
        TimeoutsArgs,
    )

__all__ = [
    "AmbiguousImageError",
    "DataImageArgs",
    "Image",
    "ImageCopy",
    "ImageCopyArgs",
    "ImageNotFoundError",
    "ImageShare",
    "ImageShareAccepter",
    "ImageShareAccepterArgs",
    "ImageShareArgs",
    "InvalidLookupError",
    "PrivateImage",
    "PrivateImageArgs",
    "PrivateImageProvider",
    "TimeoutsArgs",
    "get_image",
    "get_image_output",
    "get_images",
    "get_images_output",
]
__version__ = "0.1.0"

_HOMES = {
    "PrivateImageProvider": "ims_provider.provider",
    "PrivateImage": "ims_provider.resource",
    "PrivateImageArgs": "ims_provider.resource",
    "DataImageArgs": "ims_provider.resource",
    "TimeoutsArgs": "ims_provider.resource",
    "ImageCopy": "ims_provider.resource",
    "ImageCopyArgs": "ims_provider.resource",
    "ImageShare": "ims_provider.resource",
    "ImageShareArgs": "ims_provider.resource",
    "ImageShareAccepter": "ims_provider.resource",
    "ImageShareAccepterArgs": "ims_provider.resource",
    "Image": "ims_provider.lookup",
    "ImageNotFoundError": "ims_provider.lookup",
    "AmbiguousImageError": "ims_provider.lookup",
    "InvalidLookupError": "ims_provider.lookup",
    "get_image": "ims_provider.lookup",
    "get_image_output": "ims_provider.lookup",
    "get_images": "ims_provider.lookup",
    "get_images_output": "ims_provider.lookup",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'ims_provider' has no attribute {name!r}")
