"""The seed's rules and request shapes, checked on the model alone (no provider, no network)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pulumi.output import Unknown

from ims_provider.model.private_image import (
    DATA,
    EXISTING,
    OBS,
    VOLUME,
    build_body,
    check_inputs,
    detect_path,
    timeouts_of,
)
from ims_provider.model.private_image import (
    ECS as ECS_PATH,
)
from tests.rule_cases import BAD, ECS, VOL, ecs, obs, volume
from tests.seed_examples import SEED_REQUESTS


def properties(inputs: dict[str, Any]) -> list[str]:
    return [f.property for f in check_inputs(inputs)]


@pytest.mark.parametrize("example", sorted(SEED_REQUESTS))
def test_seed_example_is_valid_and_round_trips_to_the_same_body(example: str) -> None:
    inputs = copy.deepcopy(SEED_REQUESTS[example])
    assert check_inputs(inputs) == []
    assert build_body(inputs) == SEED_REQUESTS[example]


def test_engine_floats_become_integers_in_the_body() -> None:
    body = build_body(obs(min_disk=40.0, min_ram=1024.0, max_ram=4096.0))
    assert body["min_disk"] == 40 and isinstance(body["min_disk"], int)
    assert body["min_ram"] == 1024 and isinstance(body["max_ram"], int)


def test_image_tags_mapping_becomes_the_api_list_in_order() -> None:
    body = build_body(ecs(image_tags={"team": "web", "env": "prod"}))
    assert body["image_tags"] == [{"key": "team", "value": "web"}, {"key": "env", "value": "prod"}]


def test_control_inputs_never_reach_the_body() -> None:
    body = build_body(ecs(timeouts={"create": "45m"}, __provider="blob"))
    assert body == {"name": "web-golden", "instance_id": ECS}


@pytest.mark.parametrize(
    ("inputs", "source"),
    [
        (ecs(), ECS_PATH),
        (ecs(data_images=[{"name": "d", "volume_id": VOL}]), ECS_PATH),
        (obs(), OBS),
        (volume(), VOLUME),
        ({"data_images": [{"name": "d", "volume_id": VOL}]}, DATA),
        ({"name": "x", "instance_id": Unknown()}, ECS_PATH),
    ],
)
def test_dispatch_picks_the_one_source(inputs: dict[str, Any], source: str) -> None:
    path, failures = detect_path(inputs)
    assert path is not None and path.name == source and failures == []


def test_two_sources_fail_naming_both() -> None:
    failures = check_inputs(ecs(image_url="b:o", min_disk=40))
    named = {f.property for f in failures}
    assert {"instance_id", "image_url"} <= named
    for failure in failures:
        if failure.property in named:
            assert "exactly one image source" in failure.reason
            assert all(s in failure.reason for s in ("instance_id", "image_url", "volume_id", "data_images"))


def test_no_source_fails() -> None:
    failures = check_inputs({"name": "lonely"})
    assert failures and failures[0].property == "instance_id" and "needs a source" in failures[0].reason


@pytest.mark.parametrize(("case", "inputs", "prop"), BAD, ids=[c[0] for c in BAD])
def test_each_rule_fails_naming_the_property(case: str, inputs: dict[str, Any], prop: str) -> None:
    failures = check_inputs(inputs)
    assert prop in [f.property for f in failures], failures
    for failure in failures:
        assert failure.reason
        assert "Input should" not in failure.reason


def test_valid_edges_pass() -> None:
    items = [{"image_url": f"b:{i}", "min_disk": 2048} for i in range(3)]
    assert check_inputs(obs(min_disk=255, data_images=items)) == []
    assert check_inputs(ecs(name="a" * 128, description="d" * 1024, enterprise_project_id="0")) == []
    assert check_inputs(ecs(image_tags={f"k{i}": "" for i in range(10)}, min_ram=0, max_ram=0)) == []
    assert check_inputs(ecs(name="镜像 web-1.0_a")) == []
    assert check_inputs(ecs(tags=["novalue"], min_ram=2048, max_ram=0)) == []  # max_ram 0: no upper bound
    nine = {f"k{i}": "v" for i in range(9)}
    assert check_inputs({"data_images": [{"name": "d", "volume_id": VOL, "image_tags": nine}]}) == []
    assert check_inputs(obs(is_quick_import=True, os_version="CentOS 7.0 64bit", architecture="arm")) == []


def test_adoption_takes_the_mutable_attributes() -> None:
    adopt = {"existing_image_id": "img-1", "name": "managed", "description": "d", "image_tags": {"a": "1"}}
    path, failures = detect_path(adopt)
    assert path is not None and path.name == EXISTING and failures == []
    assert check_inputs({**adopt, "min_ram": 1024, "max_ram": 2048, "timeouts": {"delete": "5m"}}) == []


def test_unknown_values_pass_through() -> None:
    assert check_inputs({"name": Unknown(), "instance_id": Unknown(), "min_ram": Unknown()}) == []
    assert check_inputs(obs(min_disk=Unknown(), image_url=Unknown())) == []
    assert check_inputs({"data_images": [{"name": Unknown(), "volume_id": Unknown()}]}) == []
    assert check_inputs({"data_images": Unknown()}) == []
    assert check_inputs(ecs(tags=Unknown(), min_ram=4096, max_ram=Unknown())) == []
    # Known values are still checked next to unknown ones.
    assert properties(ecs(instance_id=Unknown(), name=" bad")) == ["name"]


def test_timeouts_default_and_override() -> None:
    assert timeouts_of({}) == {"create": 3600.0, "update": 600.0, "delete": 600.0}
    assert timeouts_of({"timeouts": {"create": "1h30m"}})["create"] == 5400.0


def test_timeouts_take_numbers_of_seconds_as_the_duration_parser_documents() -> None:
    assert check_inputs(ecs(timeouts={"create": 600, "delete": 90.0, "update": "5m"})) == []
    assert timeouts_of({"timeouts": {"create": 600.0, "delete": "1m30s"}}) == {
        "create": 600.0,
        "update": 600.0,
        "delete": 90.0,
    }
    assert properties(ecs(timeouts={"create": 0})) == ["timeouts.create"]
    assert properties(ecs(timeouts={"create": True})) == ["timeouts.create"]


def test_iso_image_type_is_for_iso_files_on_the_obs_path() -> None:
    iso = obs(image_url="ims-image:debian12.iso", type="IsoImage", os_version="Debian GNU/Linux 12.0.0 64bit")
    assert check_inputs(iso) == []
    assert build_body(iso)["type"] == "IsoImage"
    [failure] = check_inputs(obs(type="IsoImage", os_version="CentOS 7.0 64bit"))
    assert failure.property == "type" and ".iso" in failure.reason
    assert properties(volume(type="IsoImage")) == ["type"]


@pytest.mark.parametrize("key", ["name", "description", "tags", "image_tags"])
def test_top_level_attributes_ims_ignores_on_the_data_images_path_say_where_they_belong(key: str) -> None:
    value: Any = {"name": "x", "description": "d", "tags": ["a.1"], "image_tags": {"a": "1"}}[key]
    [failure] = check_inputs({key: value, "data_images": [{"name": "d", "volume_id": VOL}]})
    assert failure.property == key
    assert "ignored by IMS" in failure.reason and "data_images entry" in failure.reason


# Each rule's message names the property, says what was given and what is allowed (issue: errors that teach).
WORDING: list[tuple[str, dict[str, Any], str, list[str]]] = [
    (
        "two sources",
        ecs(image_url="b:o", min_disk=40),
        "image_url",
        [
            "instance_id and image_url",
            "instance_id (an ECS)",
            "volume_id",
            "data_images alone",
            "existing_image_id",
        ],
    ),
    (
        "no source",
        {"name": "lonely"},
        "instance_id",
        ["needs a source", "image_url", "volume_id", "existing_image_id"],
    ),
    (
        "both tag forms",
        ecs(tags=["a.1"], image_tags={"b": "2"}),
        "image_tags",
        ["either tags or image_tags", '"key.value"', '["team.web"]', '{"team": "web"}', '"key": "team"'],
    ),
    (
        "name characters",
        ecs(name="web/golden"),
        "name",
        ["name", "'web/golden'", "letters, digits", "'-', '.'"],
    ),
    ("name length", ecs(name="a" * 129), "name", ["name", "1 to 128", "(got 129)"]),
    ("description bracket", ecs(description="a<b"), "description", ["description", "'a<b'", "'<' or '>'"]),
    ("min_disk range", obs(min_disk=39), "min_disk", ["min_disk", "40 and 255 GB", "(got 39)"]),
    ("min_disk text", obs(min_disk="40"), "min_disk", ["min_disk", "whole number", "'40'"]),
    ("type", volume(type="KVM"), "type", ["type", "'ECS'", "'Ironic'", "(got 'KVM')"]),
    (
        "enterprise project",
        ecs(enterprise_project_id="default"),
        "enterprise_project_id",
        ["enterprise_project_id", '"0"', "UUID", "'default'"],
    ),
    ("ram order", ecs(min_ram=4096, max_ram=1024), "min_ram", ["min_ram", "4096", "max_ram", "1024"]),
    (
        "tag key characters",
        ecs(image_tags={"team#1": "web"}),
        "image_tags[0].key",
        ["'team#1'", "letters, digits, spaces and _ . : = + - @"],
    ),
    (
        "old tag characters",
        ecs(tags=["a b.c"]),
        "tags[0]",
        ["'a b.c'", "letters, digits, '_' and '-'", "image_tags"],
    ),
    ("timeout", ecs(timeouts={"create": "soon"}), "timeouts.create", ["'soon'", "'45m'", "seconds"]),
    ("timeout key", ecs(timeouts={"read": "5m"}), "timeouts.read", ["read", "create, update, delete"]),
    (
        "unknown input",
        ecs(colour="blue"),
        "colour",
        ["colour", "not an input of PrivateImage", "instance_id"],
    ),
    (
        "wrong path",
        ecs(os_version="CentOS 7.0 64bit"),
        "os_version",
        ["os_version", "an ECS (instance_id)", "applies to", "image_url", "volume_id"],
    ),
    ("arm bios", obs(architecture="arm", hw_firmware_type="bios"), "hw_firmware_type", ["uefi", "(got bios"]),
    ("empty os_version", volume(os_version=" "), "os_version", ["os_version", "empty", "(got ' ')"]),
    ("id white space", ecs(instance_id=" x"), "instance_id", ["instance_id", "white space", "' x'"]),
]


@pytest.mark.parametrize(("case", "inputs", "prop", "words"), WORDING, ids=[w[0] for w in WORDING])
def test_every_message_names_the_property_what_was_given_and_what_is_allowed(
    case: str, inputs: dict[str, Any], prop: str, words: list[str]
) -> None:
    reasons = [f.reason for f in check_inputs(inputs) if f.property == prop]
    assert reasons, check_inputs(inputs)
    missing = [w for w in words if not any(w in reason for reason in reasons)]
    assert missing == [], reasons
