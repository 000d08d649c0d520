"""A trivial dynamic provider of another library, served by the same host as PrivateImage.

Its create answers at once: whether it answers while image creates wait shows whether those starve the
rest of the stack's dynamic resources.
"""

from __future__ import annotations

from typing import Any

from pulumi.dynamic import CreateResult, ResourceProvider
from pulumi.dynamic.dynamic import serialize_provider


class EchoProvider(ResourceProvider):
    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(f"echo-{props['name']}", {"name": props["name"]})


def echo_blob() -> str:
    """The ``__provider`` value a program with an EchoProvider resource sends."""
    blob = serialize_provider(EchoProvider())
    assert isinstance(blob, str)
    return blob
