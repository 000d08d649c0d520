"""ImageCopy, ImageShare and ImageShareAccepter as declared: rules, paths, request bodies, what changes in
place, and that each resource's Args declare exactly its inputs."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pulumi
import pytest
from pulumi.output import Unknown

from ims_provider.model.docs import recovery_rules
from ims_provider.model.image_copy import (
    ACROSS,
    IMAGE_COPY,
    IN_REGION,
    check_copy,
    copy_path,
    copy_request,
    shape_of_copy,
)
from ims_provider.model.image_share import IMAGE_SHARE, IMAGE_SHARE_ACCEPTER, check_accepter, check_share
from ims_provider.model.live import CLAIM_ATTRIBUTE, CLAIM_TAG, LiveImage
from ims_provider.model.private_image import PRIVATE_IMAGE
from ims_provider.resource import (
    ImageCopy,
    ImageCopyArgs,
    ImageShare,
    ImageShareAccepter,
    ImageShareAccepterArgs,
    ImageShareArgs,
)

HOME = "cn-north-4"
SOURCE = "4b5c6d7e-0f1a-4b2c-9d3e-4f5a6b7c8d9e"
PROJECT = "0605767c6a80d5c72f1dc0193fbee5a2"


def copy(**extra: Any) -> dict[str, Any]:
    return {"source_image_id": SOURCE, "name": "golden-copy", **extra}


def across(**extra: Any) -> dict[str, Any]:
    return copy(**{"target_region": "cn-south-1", "agency_name": "ims_admin_agency", **extra})


@pytest.mark.parametrize(
    ("schema", "args", "resource"),
    [
        (IMAGE_COPY, ImageCopyArgs, ImageCopy),
        (IMAGE_SHARE, ImageShareArgs, ImageShare),
        (IMAGE_SHARE_ACCEPTER, ImageShareAccepterArgs, ImageShareAccepter),
    ],
)
def test_args_and_outputs_are_the_declared_ones(schema: Any, args: Any, resource: Any) -> None:
    assert [f.name for f in dataclasses.fields(args)] == list(schema.input_names)
    assert set(schema.input_names) | set(schema.output_names) <= set(resource.__annotations__)


def test_the_path_follows_the_target_region_and_the_provider_region() -> None:
    assert copy_path(copy(), HOME) == IN_REGION
    assert copy_path(copy(target_region=HOME), HOME) == IN_REGION
    assert copy_path(across(), HOME) == ACROSS
    assert copy_path(copy(target_region=Unknown()), HOME) is None


def test_copy_bodies_are_what_each_api_takes() -> None:
    assert copy_request(copy(description="d", cmk_id="key-1", min_ram=1024.0), HOME) == (
        IN_REGION,
        {"name": "golden-copy", "description": "d", "cmk_id": "key-1"},
    )
    path, body = copy_request(across(vault_id="vault-1", image_tags={"a": "b"}), HOME)
    assert path == ACROSS
    assert body == {
        "name": "golden-copy",
        "region": "cn-south-1",
        "project_name": "cn-south-1",  # the region's default project is named after it
        "agency_name": "ims_admin_agency",
        "vault_id": "vault-1",
    }
    assert "target_project_name" not in IMAGE_COPY.input_names  # the default project only, as Terraform


@pytest.mark.parametrize(
    ("inputs", "prop", "words"),
    [
        (copy(name=" x"), "name", "space"),
        (copy(source_image_id=""), "source_image_id", "empty"),
        (across(agency_name=None), "agency_name", "required"),
        (across(cmk_id="k"), "cmk_id", "within the provider's region"),
        (across(enterprise_project_id="0"), "enterprise_project_id", "within the provider's region"),
        (copy(agency_name="a"), "agency_name", "another region"),
        (copy(target_region="Mars Base"), "target_region", "region ID"),
        (copy(min_ram=4096, max_ram=1024), "min_ram", "max_ram"),
        (copy(tags=["a.1"], image_tags={"b": "2"}), "image_tags", "either"),
        (copy(colour="blue"), "colour", "not an input of ImageCopy"),
        (copy(timeouts={"create": "soon"}), "timeouts.create", "duration"),
    ],
)
def test_each_copy_rule_names_the_property(inputs: dict[str, Any], prop: str, words: str) -> None:
    inputs = {k: v for k, v in inputs.items() if v is not None}
    failures = check_copy(inputs, HOME)
    assert prop in [f.property for f in failures], failures
    assert any(words in f.reason for f in failures if f.property == prop), failures


def test_an_unknown_target_region_checks_each_value_on_its_own() -> None:
    assert check_copy(across(target_region=Unknown(), cmk_id="key"), HOME) == []
    assert [f.property for f in check_copy(copy(target_region=Unknown(), name=" x"), HOME)] == ["name"]


def test_what_a_copy_changes_in_place() -> None:
    assert IMAGE_COPY.updatable == {"name", "description", "min_ram", "max_ram", "tags", "image_tags"}
    assert {
        "source_image_id",
        "target_region",
        "agency_name",
        "vault_id",
        "cmk_id",
        "enterprise_project_id",
    } == set(IMAGE_COPY.replacing)
    old, new = copy(name="a", min_ram=1024), copy(name="b", min_ram=2048, target_region=HOME)
    changed = IMAGE_COPY.changed(old, new)
    assert set(changed) == {"name", "min_ram", "target_region"}
    assert IMAGE_COPY.replaces(changed, old, new) == ["target_region"]


def test_a_copy_is_recognised_by_name_and_source_but_not_by_what_is_set_afterwards() -> None:
    shape = shape_of_copy(copy(description="d", min_ram=4096, image_tags={"a": "b"}), HOME)
    image = LiveImage(
        {
            "id": "c",
            "name": "golden-copy",
            "status": "active",
            "__originalimagename": SOURCE,
            "__description": "d",
            "min_ram": 0,
        },
        tags={},
    )
    assert shape.primary.candidate(image, PROJECT) and shape.primary.differences(image) == []
    other = LiveImage({**image.raw, "__description": "other"}, tags={})
    assert [d.field for d in shape.primary.differences(other)] == ["description"]


def test_a_copy_counts_only_its_own_claim() -> None:
    """A claim taken from the source (valued with the source's ID) is not the copy's: the copy is still an
    earlier attempt's to adopt. Its own claim (its ID) keeps it from being adopted, as a PrivateImage's does
    with any claim."""
    copy_shape = shape_of_copy(copy(), HOME).primary
    image = LiveImage({"id": "c", "name": "golden-copy", "status": "active", "__originalimagename": SOURCE})
    inherited = LiveImage({**image.raw, CLAIM_ATTRIBUTE: SOURCE})
    own = LiveImage({**image.raw, CLAIM_ATTRIBUTE: "c"})
    tagged = LiveImage(image.raw, tags={CLAIM_TAG: SOURCE})
    assert [copy_shape.claimed(i) for i in (image, inherited, own, tagged)] == [False, False, True, False]
    any_claim = dataclasses.replace(copy_shape, own_claim_only=False)
    assert [any_claim.claimed(i) for i in (image, inherited, own, tagged)] == [False, True, True, True]


@pytest.mark.parametrize("program", [copy(), across()], ids=["within the region", "across"])
def test_the_copy_recovery_block_names_what_recovery_compares(program: dict[str, Any]) -> None:
    """docs/recovery.md's generated block for copies is true: of the inputs that make a copy, exactly those
    it says are compared (on that path) keep a copy that differs in them from being taken for an attempt."""
    block = recovery_rules(IMAGE_COPY, by_path=True)
    compared = set(re.findall(r"`(\w+)`", block.splitlines()[0]))
    only_in_region = {n for n in compared if f"`{n}`: compared only on a copy within" in block}
    live = LiveImage(
        {
            "id": "c",
            "name": "golden-copy",
            "status": "active",
            "__originalimagename": SOURCE,
            "enterprise_project_id": "0",
        },
        tags={},
    )
    variants = {
        "source_image_id": "5c6d7e8f-0f1a-4b2c-9d3e-4f5a6b7c8d9e",
        "name": "another",
        "description": "another",
        "cmk_id": "kms-key-2",
        "enterprise_project_id": "2f3a4b5c-6d7e-4f80-9a1b-2c3d4e5f6a7b",
        "min_ram": 4096,
        "max_ram": 8192,
        "image_tags": {"team": "web"},
        "agency_name": "another_agency",
        "vault_id": "vault-2",
    }
    path = copy_path(program, HOME)
    assert path is not None
    detected = set()
    for name, value in variants.items():
        if path not in IMAGE_COPY.field(name).on:
            continue
        expected = shape_of_copy({**program, name: value}, HOME).primary
        if not expected.candidate(live, PROJECT) or expected.differences(live):
            detected.add(name)
    same = shape_of_copy(program, HOME).primary
    assert same.candidate(live, PROJECT) and same.differences(live) == []
    assert detected == (compared if path == IN_REGION else compared - only_in_region)


def test_copies_share_private_image_rules_and_reports() -> None:
    for name in ("name", "description", "min_ram", "max_ram", "tags", "image_tags", "cmk_id"):
        assert IMAGE_COPY.field(name).rule is PRIVATE_IMAGE.field(name).rule
        assert IMAGE_COPY.field(name).reported is PRIVATE_IMAGE.field(name).reported
        assert IMAGE_COPY.field(name).patch is PRIVATE_IMAGE.field(name).patch


def test_share_and_accepter_rules() -> None:
    assert check_share({"source_image_id": SOURCE, "target_project_ids": [PROJECT]}) == []
    bad = check_share({"source_image_id": SOURCE, "target_project_ids": ["nope"]})
    assert [f.property for f in bad] == ["target_project_ids[0]"] and "32" in bad[0].reason
    twice = check_share({"source_image_id": SOURCE, "target_project_ids": [PROJECT, PROJECT]})
    assert "once" in twice[0].reason
    none = check_share({"source_image_id": SOURCE, "target_project_ids": []})
    assert "at least 1" in none[0].reason
    assert check_accepter({"image_id": SOURCE, "vault_id": "v"}) == []
    assert [f.property for f in check_accepter({"image_id": SOURCE, "target_project_ids": []})] == [
        "target_project_ids"
    ]


def test_members_are_a_set_and_change_in_place() -> None:
    old = {"source_image_id": SOURCE, "target_project_ids": ["a" * 32, "b" * 32]}
    assert IMAGE_SHARE.changed(old, {**old, "target_project_ids": ["b" * 32, "a" * 32]}) == []
    changed = IMAGE_SHARE.changed(old, {**old, "target_project_ids": ["a" * 32]})
    assert changed == ["target_project_ids"] and IMAGE_SHARE.replaces(changed, old, old) == []
    assert IMAGE_SHARE_ACCEPTER.replacing == {"image_id", "vault_id", "region"}
    assert IMAGE_SHARE.replacing == {"source_image_id", "region"}


def test_an_acceptance_declares_the_visibility_a_member_sees() -> None:
    """A member sees a shared image as `shared`, not as its owner's `private` image: its own declaration."""
    [mine] = [o for o in IMAGE_SHARE_ACCEPTER.outputs if o.name == "visibility"]
    [owners] = [o for o in PRIVATE_IMAGE.outputs if o.name == "visibility"]
    assert mine is not owners and "`shared`" in mine.meaning
    assert mine.read is not None and mine.read(LiveImage({"visibility": "shared"})) == "shared"


def test_shares_and_acceptances_are_replaced_delete_first_even_when_the_engine_forces_it() -> None:
    """`pulumi up --replace` never asks the provider's diff: the resource option says it, and only for the
    resources whose model does (made first, a share or acceptance of the same image would find the old one's
    work done, and the old one's delete would undo it); a program may still say otherwise."""
    from ims_provider.model.image_copy import IMAGE_COPY
    from ims_provider.model.image_share import IMAGE_SHARE, IMAGE_SHARE_ACCEPTER
    from ims_provider.model.private_image import PRIVATE_IMAGE
    from ims_provider.resource import _options

    assert _options(IMAGE_SHARE_ACCEPTER, None).delete_before_replace is True
    assert _options(IMAGE_SHARE, None).delete_before_replace is True
    assert _options(PRIVATE_IMAGE, None).delete_before_replace is None
    assert _options(IMAGE_COPY, None).delete_before_replace is None
    keep = pulumi.ResourceOptions(delete_before_replace=False, protect=True)
    merged = _options(IMAGE_SHARE_ACCEPTER, keep)
    assert (merged.delete_before_replace, merged.protect) == (False, True)
    assert merged.additional_secret_outputs == ["applied_inputs"]
