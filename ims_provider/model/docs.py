"""The reference tables of the docs, written from the model and the retry policy so they cannot disagree.

:data:`BLOCKS` says which document holds each one; ``python -m ims_provider.model.docs`` prints them, and a
test checks that each document holds its blocks verbatim.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ims_provider.config import config_table
from ims_provider.credentials import credentials_table
from ims_provider.model.image_copy import IMAGE_COPY, PATH_LETTERS
from ims_provider.model.image_share import IMAGE_SHARE, IMAGE_SHARE_ACCEPTER
from ims_provider.model.private_image import PATHS, PRIVATE_IMAGE
from ims_provider.model.schema import DERIVED, TAG_API, Change, Field, ResourceSchema
from ims_provider.retry import POLICY

_CHANGE = {Change.UPDATE: "update", Change.REPLACE: "replace", Change.NONE: "none"}


NO_PATH = "\u2013"  # the README's dash for "no create path" (adoption only)


def _paths(field: Field, letters: Mapping[str, str]) -> str:
    shown = [letters[p] for p in letters if p in field.on and letters[p] != NO_PATH]
    if len(field.on) == len(letters):
        return "all"
    return " ".join(shown) or NO_PATH


def _change(field: Field) -> str:
    if field.entries is not None:
        return "in place for an entry's tags, else replace"
    return _CHANGE[field.change]


def input_table(schema: ResourceSchema, letters: Mapping[str, str] | None = None) -> str:
    """One row per input: name, type, the paths that take it (when there are several), its rules, what a
    change does."""
    if letters is None:
        rows = ["| Input | Type | Rules (checked before any API call) | Change |", "|---|---|---|---|"]
    else:
        header = "| Input | Type | Path | Rules (checked before any API call) | Change |"
        rows = [header, "|---|---|---|---|---|"]
    for field in schema.fields:
        paths = [] if letters is None else [_paths(field, letters)]
        cells = [f"`{field.name}`", field.type_text, *paths, field.rule_text, _change(field)]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def output_table(schema: ResourceSchema) -> str:
    rows = ["| Output | Type | Meaning |", "|---|---|---|"]
    rows += [f"| `{o.name}` | {o.type_text} | {o.meaning} |" for o in schema.outputs]
    return "\n".join(rows)


def recovery_rules(schema: ResourceSchema, *, by_path: bool = False) -> str:
    """What recovery compares, the rules where IMS decides a value itself, and what it cannot compare;
    ``by_path``: also which inputs only some paths take (and so are compared on those only)."""
    groups: dict[str, list[str]] = {}
    notes = []
    entries = []
    afterwards = []
    for field in schema.fields:
        if field.entries is not None:
            entries.append(f"each `{field.name}` entry: {_compared(field.entries)}")
        if field.located:
            notes.append(f"- `{field.name}`: not compared: it says where to look (the region of the image).")
        reported = field.reported
        if reported is None or field.control:
            continue
        if field.applied_after:
            afterwards.append(field)
            continue
        groups.setdefault(reported.key, []).append(f"`{field.name}`")
        if reported.note:
            notes.append(f"- `{field.name}`: {reported.note}.")
        elif reported.unset is DERIVED and field.name != "name":
            notes.append(f"- `{field.name}`: compared only when the program sets it (else IMS chooses it).")
        if by_path and len(field.on) < len(schema.path_order):
            paths = " or ".join(schema.describe(p) for p in schema.path_order if p in field.on)
            notes.append(f"- `{field.name}`: compared only on {paths} (the only one that takes it).")
    lines = [
        "Compared: "
        + "; ".join([_join(groups), *entries])
        + ". An input the program leaves out is compared with IMS's default.",
        *notes,
    ]
    if afterwards:
        later: dict[str, list[str]] = {}
        for field in afterwards:
            assert field.reported is not None
            later.setdefault(field.reported.key, []).append(f"`{field.name}`")
        names = ", ".join(" / ".join(group) for group in later.values())
        lines.append(f"Set on the image once it is active, so not compared: {names}.")
    lines.append(
        "Not reported by IMS, so not compared (the residual risk): "
        + ", ".join(f"`{name}`" for name in schema.unreported)
        + "."
    )
    return "\n".join(lines)


def _compared(schema: ResourceSchema) -> str:
    groups: dict[str, list[str]] = {}
    for field in schema.fields:
        if field.reported is not None:
            groups.setdefault(field.reported.key, []).append(f"`{field.name}`")
    return _join(groups)


def _join(groups: Mapping[str, list[str]]) -> str:
    parts = []
    for key, names in groups.items():
        text = " / ".join(names)
        parts.append(f"{text} (as key/value pairs)" if key == TAG_API else text)
    return ", ".join(parts)


def retry_table() -> str:
    """The error classes and what is done with each: :data:`ims_provider.retry.POLICY`, verbatim."""
    header = [
        "Failure",
        "GET, DELETE, PATCH, tag calls",
        "Create (`POST /v2/cloudimages/action`)",
        "While waiting",
    ]
    rows = ["| " + " | ".join(header) + " |", "|---|---|---|---|"]
    rows += [f"| {h.failure} | {h.calls} | {h.create} | {h.waits} |" for h in POLICY.values()]
    return "\n".join(rows)


LETTERS = {name: path.letter for name, path in PATHS.items()}

README = "README.md"
RELIABILITY = "docs/reliability.md"
RECOVERY = "docs/recovery.md"
# Each generated block, and the document (relative to the repository) that holds it verbatim.
BLOCKS: dict[str, tuple[str, Callable[[], str]]] = {
    "PrivateImage inputs": (README, lambda: input_table(PRIVATE_IMAGE, LETTERS)),
    "PrivateImage outputs": (README, lambda: output_table(PRIVATE_IMAGE)),
    "ImageCopy inputs": (README, lambda: input_table(IMAGE_COPY, PATH_LETTERS)),
    "ImageCopy outputs": (README, lambda: output_table(IMAGE_COPY)),
    "ImageShare inputs": (README, lambda: input_table(IMAGE_SHARE)),
    "ImageShare outputs": (README, lambda: output_table(IMAGE_SHARE)),
    "ImageShareAccepter inputs": (README, lambda: input_table(IMAGE_SHARE_ACCEPTER)),
    "ImageShareAccepter outputs": (README, lambda: output_table(IMAGE_SHARE_ACCEPTER)),
    "configuration": (README, config_table),
    "credentials": (README, credentials_table),
    "what recovery compares": (RECOVERY, lambda: recovery_rules(PRIVATE_IMAGE)),
    "what copy recovery compares": (RECOVERY, lambda: recovery_rules(IMAGE_COPY, by_path=True)),
    "what is retried": (RELIABILITY, retry_table),
}


def main() -> None:
    for name, (document, write) in BLOCKS.items():
        print(f"<!-- {name}: {document} -->")
        print(write())
        print()


if __name__ == "__main__":
    main()
