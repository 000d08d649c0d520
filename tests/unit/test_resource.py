"""The program side: type token, typed args to plain inputs, output attributes (Pulumi mocks, no engine)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pulumi
import pytest

from ims_provider import DataImageArgs, PrivateImage, PrivateImageArgs, TimeoutsArgs

TYPE = "pulumi-python:dynamic/ims:PrivateImage"


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.registered: list[pulumi.runtime.MockResourceArgs] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        self.registered.append(args)
        outputs = {**args.inputs, "image_id": args.resource_id or "img-1", "status": "active"}
        return args.resource_id or "img-1", outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


@pytest.fixture
def mocks() -> Iterator[RecordingMocks]:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    recorder = RecordingMocks()
    pulumi.runtime.set_mocks(recorder, project="ims-tests", stack="unit", preview=False)
    yield recorder
    loop.close()


def resolve(output: pulumi.Output[Any]) -> Any:
    future: asyncio.Future[Any] = asyncio.get_event_loop().create_future()
    output.apply(future.set_result)
    return asyncio.get_event_loop().run_until_complete(future)


def test_typed_args_become_plain_inputs_under_the_type_token(mocks: RecordingMocks) -> None:
    image = PrivateImage(
        "golden",
        PrivateImageArgs(
            name="web-golden",
            instance_id="ecs-1",
            data_images=[DataImageArgs(name="data", volume_id="vol-1")],
            image_tags={"team": "web"},
            min_ram=1024,
            timeouts=TimeoutsArgs(create="45m"),
        ),
    )
    assert resolve(image.image_id) == "img-1"
    assert resolve(image.status) == "active"
    (registered,) = mocks.registered
    assert registered.typ == TYPE
    inputs = registered.inputs
    assert inputs["data_images"] == [{"name": "data", "volume_id": "vol-1"}]
    assert inputs["timeouts"] == {"create": "45m"}
    assert inputs["image_tags"] == {"team": "web"}
    assert inputs["min_ram"] == 1024
    assert isinstance(inputs["__provider"], str) and len(inputs["__provider"]) < 400  # a module reference


def test_args_inside_outputs_are_serialized_too(mocks: RecordingMocks) -> None:
    volume = pulumi.Output.from_input("vol-2")
    items = pulumi.Output.from_input([DataImageArgs(name="data", volume_id="vol-1")])
    nested = PrivateImage(
        "nested",
        name="web",
        instance_id="ecs-1",
        data_images=[DataImageArgs(name="late", volume_id=volume)],
        timeouts=pulumi.Output.from_input(TimeoutsArgs(delete="5m")),
    )
    listed = PrivateImage("listed", name="web", instance_id="ecs-1", data_images=items)
    resolve(pulumi.Output.all(nested.image_id, listed.image_id))
    first, second = sorted(mocks.registered, key=lambda r: r.name)[::-1]
    assert first.inputs["data_images"] == [{"name": "late", "volume_id": "vol-2"}]
    assert first.inputs["timeouts"] == {"delete": "5m"}
    assert second.inputs["data_images"] == [{"name": "data", "volume_id": "vol-1"}]


def test_keyword_arguments_work_like_args(mocks: RecordingMocks) -> None:
    image = PrivateImage("kw", name="web", image_url="b:o.qcow2", min_disk=40)
    assert resolve(image.name) == "web"
    assert mocks.registered[0].inputs["image_url"] == "b:o.qcow2"


def test_an_unknown_argument_is_refused_by_name() -> None:
    with pytest.raises(TypeError, match="colour"):
        PrivateImage("bad", name="web", instance_id="ecs-1", colour="blue")


def test_get_reads_by_id(mocks: RecordingMocks) -> None:
    image = PrivateImage.get("existing", "img-42")
    assert resolve(image.image_id) == "img-42"
    assert mocks.registered[0].typ == TYPE and mocks.registered[0].resource_id == "img-42"
