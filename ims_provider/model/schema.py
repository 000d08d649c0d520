"""The declarative core: a resource's inputs and outputs declared once, and everything derived from them.

A resource is a :class:`ResourceSchema`: a list of :class:`Field` declarations plus output-only attributes.
Each field says its rule, on which paths it is taken (required or optional), what a change to it does, how
IMS reports it on a live image (:class:`Reported`, or nothing: IMS cannot tell, so it is echoed), and, for an
attribute changed in place with PATCH, which (:class:`Patch`). From these come the request model of every
path, the input and output name lists, diff's update and replace sets, the PATCH operations of an update,
the outputs read from the live image, the inputs refresh writes back, what recovery compares, and the
README's input table.

State: the Python dynamic host hands ``diff`` only the old *outputs*. Outputs under an input's name say what
IMS has; the output :data:`APPLIED` keeps the inputs as last applied (mutable ones as IMS has them after a
refresh), and diff compares the program with those, never with IMS's own values.
"""

from __future__ import annotations

import enum
import json
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Final

from pulumi.output import Unknown
from pydantic import BaseModel, ValidationError, create_model

from ims_provider.model.live import LiveImage, text
from ims_provider.model.rules import Failure, RuleError, whole
from ims_provider.model.tags import TAG_INPUTS, declared_tags, in_program_form, tag_map

APPLIED: Final = "applied_inputs"
LEGACY_INPUT_KEYS: Final = "input_keys"  # state written before APPLIED listed the input names here
TAG_API: Final = "tag API"  # the Reported.key of tags: read with GET .../tags, never from the image body


class Presence(str, enum.Enum):
    REQUIRED = "required"
    OPTIONAL = "optional"


REQUIRED, OPTIONAL = Presence.REQUIRED, Presence.OPTIONAL


class Change(str, enum.Enum):
    """What a change of the input does."""

    UPDATE = "update"  # in place (PATCH or the tag API)
    REPLACE = "replace"  # a new resource, then the old one deleted
    NONE = "none"  # never sent to IMS: no API call


class _Derived:
    """IMS decides the value itself (from the file or the disk): nothing to compare it with."""

    def __repr__(self) -> str:
        return "DERIVED"


DERIVED: Final = _Derived()


def is_unknown(value: Any) -> bool:
    return isinstance(value, Unknown)


def contains_unknown(value: Any) -> bool:
    if isinstance(value, Unknown):
        return True
    if isinstance(value, Mapping):
        return any(contains_unknown(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(contains_unknown(v) for v in value)
    return False


def plain(value: Any) -> Any:
    """How two program values of a field compare by default: engine doubles as ints, "" as unset."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if value == "":
        return None
    return value


def nested(value: Any) -> Any:
    """:func:`plain`, all the way down (lists of entries), tags of an entry compared as mappings."""
    if isinstance(value, Mapping):
        return {
            k: (tag_map(v) if k in TAG_INPUTS else nested(v))
            for k, v in value.items()
            if v is not None and plain(v) is not None
        }
    if isinstance(value, list | tuple):
        return [nested(v) for v in value]
    return plain(value)


def tags_value(value: Any) -> dict[str, str] | None:
    return None if value is None else tag_map(value)


def _equal(requested: Any, live: Any) -> bool:
    return bool(requested == live)


@dataclass(frozen=True)
class Reported:
    """How IMS reports an input on a live image, and when the two agree.

    ``read`` turns IMS's raw attribute into the program's terms. ``unset`` is what IMS holds when the program
    leaves the input out (a value, a function of the request, or :data:`DERIVED`: IMS picks its own).
    ``same`` says when a requested and a live value mean the same (synonyms such as ECS and FusionCompute).
    ``at_least``: IMS may raise the value (a live value above the request still agrees). ``derived_on``: the
    paths on which IMS may replace a given value by one it detects. ``note`` states such a rule in one line.
    """

    key: str
    read: Callable[[Any], Any] = text
    unset: Any = None
    same: Callable[[Any, Any], bool] = _equal
    at_least: bool = False
    derived_on: frozenset[str] = frozenset()
    note: str = ""

    def live_value(self, live: LiveImage) -> Any:
        if self.key == TAG_API:
            return live.user_tags() if live.tags is not None else None
        return self.read(live.attribute(self.key))

    def expected(self, requested: Any, request: Mapping[str, Any], path: str) -> Any:
        """The value an image made by ``request`` on ``path`` holds, or DERIVED when IMS may choose."""
        if path in self.derived_on:
            return DERIVED
        if requested is not None:
            return requested
        return self.unset(request) if callable(self.unset) else self.unset

    def agrees(self, expected: Any, live: Any) -> bool:
        if expected is DERIVED:
            return True
        if self.at_least and isinstance(expected, int) and isinstance(live, int):
            return live >= expected
        return self.same(expected, live)


@dataclass(frozen=True)
class Patch:
    """An attribute changed in place with ``PATCH /v2/cloudimages/{id}``; ``unset`` is what dropping the input
    sends: :data:`REMOVE` (the attribute is deleted), :data:`KEEP` (nothing: IMS needs it, e.g. the name) or a
    value (IMS cannot delete it, e.g. min_ram back to 0)."""

    path: str
    unset: Any


REMOVE: Final = "remove"
KEEP: Final = "keep"


@dataclass(frozen=True)
class Field:
    """One input, declared once. ``on`` maps each path that takes it to required or optional."""

    name: str
    rule: Any
    on: Mapping[str, Presence]
    change: Change
    reported: Reported | None = None
    patch: Patch | None = None
    control: bool = False  # steers the provider, never in a request body
    compare: Callable[[Any], Any] = plain  # the form two program values are compared in
    entries: ResourceSchema | None = None  # a list of entries, each declared by this schema; their tags
    # change in place, anything else replaces
    one_job_per: str | None = None  # the value names a source IMS images one job at a time ("ECS", "disk")
    applied_after: bool = False  # not part of the create request: set on the made image afterwards (a copy's
    # RAM bounds and tags), so recovery does not compare it and applies it after adopting
    located: bool = False  # says where the resource lives (a copy's region): searched there, not compared
    type_text: str = "str"
    rule_text: str = ""

    def paths(self) -> list[str]:
        return list(self.on)


@dataclass(frozen=True)
class Output:
    """An output that is not an input: read from the live image, or set by the operation (``read`` None)."""

    name: str
    read: Callable[[LiveImage], Any] | None
    type_text: str
    meaning: str


@dataclass(frozen=True)
class Difference:
    """An attribute on which a live image and a request disagree, for a message a user can act on."""

    field: str
    live: Any
    requested: Any

    def describe(self) -> str:
        return f"{self.field} (IMS has {_shown(self.live)}, the program asks for {_shown(self.requested)})"


def _shown(value: Any) -> str:
    if value is None or value == {}:
        return "none"
    if isinstance(value, Mapping):
        return json.dumps(dict(value), ensure_ascii=False, sort_keys=True)
    return repr(value) if isinstance(value, str) else str(value)


@dataclass(frozen=True)
class ResourceSchema:
    """A resource's declaration: its fields and output-only attributes, in documentation order."""

    resource: str
    fields: tuple[Field, ...]
    outputs: tuple[Output, ...] = ()
    path_order: tuple[str, ...] = field(default=())
    path_names: tuple[tuple[str, str], ...] = ()  # what a message calls each path
    region_input: str | None = None  # the input naming the region it lives in; left out: the provider's
    # A replacement deletes the old resource first (the engine's delete_before_replace): for a resource whose
    # create would find the old one's work done and whose delete would then undo it.
    replace_deletes_first: bool = False

    def located(self, inputs: Mapping[str, Any], region: str | None) -> dict[str, Any]:
        """The inputs with their region said: leaving ``region_input`` out means ``region`` (the provider's,
        or for the last applied inputs the region the state records), so naming that region, or dropping it
        again, is no change."""
        name = self.region_input
        if name is not None and region and inputs.get(name) in (None, ""):
            return {**inputs, name: region}
        return dict(inputs)

    def lives_in(self, props: Mapping[str, Any], provider_region: str) -> str:
        """The region the resource lives in: the one its outputs record (``region``), else its region input,
        else the provider's. ``props`` are its outputs, or before create its inputs."""
        if APPLIED in props or LEGACY_INPUT_KEYS in props:  # outputs
            recorded = props.get("region")
            if isinstance(recorded, str) and recorded:
                return recorded
            inputs = self.applied_inputs(props)
        else:
            inputs = self.set_inputs(props)
        said = self.located(inputs, provider_region).get(self.region_input or "")
        return said if isinstance(said, str) and said else provider_region

    def describe(self, path: str) -> str:
        return dict(self.path_names).get(path, path)

    def field(self, name: str) -> Field:
        return self._by_name[name]

    @cached_property
    def _by_name(self) -> dict[str, Field]:
        return {f.name: f for f in self.fields}

    @cached_property
    def input_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @cached_property
    def output_names(self) -> tuple[str, ...]:
        return (*(o.name for o in self.outputs), APPLIED)

    @cached_property
    def updatable(self) -> frozenset[str]:
        return frozenset(f.name for f in self.fields if f.change is Change.UPDATE)

    @cached_property
    def replacing(self) -> frozenset[str]:
        return frozenset(f.name for f in self.fields if f.change is Change.REPLACE)

    @cached_property
    def control(self) -> frozenset[str]:
        return frozenset(f.name for f in self.fields if f.control)

    @cached_property
    def patched(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.patch is not None)

    @cached_property
    def unreported(self) -> tuple[str, ...]:
        """Creation inputs IMS cannot report: echoed in state, and the residual risk of recovery (an entry's
        as ``list[].name``)."""
        names = [
            f.name
            for f in self.fields
            if f.reported is None
            and f.entries is None
            and not f.control
            and not f.located
            and f.change is Change.REPLACE
        ]
        for f in self.fields:
            if f.entries is not None:
                names += [f"{f.name}[].{name}" for name in f.entries.unreported]
        return tuple(names)

    def accepted_on(self, path: str) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if path in f.on)

    def users_of(self, name: str) -> list[str]:
        """The paths that take input ``name`` (none: it is not an input)."""
        found = self._by_name.get(name)
        return [p for p in self.path_order if found is not None and p in found.on]

    # --- request models ---------------------------------------------------------------------------------

    def request_model(
        self, path: str, base: type[BaseModel], rules: Mapping[str, Any] | None = None
    ) -> type[BaseModel]:
        """The pydantic model of one path's request: its fields with their rules (``rules`` overrides one
        field's rule on this path), required as declared; ``base`` carries the rules across fields."""
        overrides = rules or {}
        definitions: dict[str, Any] = {}
        for f in self.accepted_on(path):
            if f.control:
                continue
            rule = overrides.get(f.name, f.rule)
            if f.on[path] is REQUIRED:
                definitions[f.name] = (rule, ...)
            else:
                definitions[f.name] = (typing.Optional[rule], None)  # noqa: UP045 - rule is a runtime value
        model: type[BaseModel] = create_model(f"{self.resource}_{path}", __base__=base, **definitions)
        return model

    def _model(self, path: str, rules: type[BaseModel]) -> type[BaseModel]:
        key = (path, rules)
        cache = self._models
        if key not in cache:
            cache[key] = self.request_model(path, rules)
        return cache[key]

    @cached_property
    def _models(self) -> dict[tuple[str, type[BaseModel]], type[BaseModel]]:
        return {}

    # --- checks of a single-path request (PrivateImage, with its entries, has its own) ----------------------

    def takes(self, path: str, key: str) -> bool:
        return key in self._by_name and path in self._by_name[key].on

    def check_control(self, inputs: Mapping[str, Any]) -> list[Failure]:
        """The control inputs (timeouts, ...), each on its own rule."""
        failures: list[Failure] = []
        for name in sorted(self.control):
            value = inputs.get(name)
            if value is not None:
                failures += failures_of(single_model(name, self.field(name).rule), {name: value}, "", name)
        return failures

    def wrong_path(self, key: str, path: str) -> str:
        users = self.users_of(key)
        if not users:
            return f"{key} is not an input of {self.resource}; the inputs are: {', '.join(self.input_names)}"
        where = " or ".join(self.describe(p) for p in users)
        return f"{key} is not used for {self.describe(path)}; it applies to {where}"

    def request_inputs(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in inputs.items() if k not in self.control and not k.startswith("__")}

    def check(self, path: str, inputs: Mapping[str, Any], rules: type[BaseModel]) -> list[Failure]:
        """Every rule of ``path`` before any API call: inputs the path does not take, then the path's model
        (its fields' rules and ``rules`` across them); unknown (preview) values pass."""
        failures = self.check_control(inputs)
        request = self.request_inputs(inputs)
        failures += [Failure(k, self.wrong_path(k, path)) for k in request if not self.takes(path, k)]
        known = {k: v for k, v in request.items() if self.takes(path, k)}
        failures += failures_of(self._model(path, rules), known, "", f"{self.describe(path)}")
        return [named(f) for f in failures]

    def check_fields(self, inputs: Mapping[str, Any]) -> list[Failure]:
        """Each known input on its own rule, for when the path is still unknown (a preview)."""
        failures = self.check_control(inputs)
        for key, value in self.request_inputs(inputs).items():
            if key not in self._by_name:
                failures.append(Failure(key, self.wrong_path(key, "")))
            elif value is not None:
                failures += failures_of(single_model(key, self.field(key).rule), {key: value}, "", key)
        return [named(f) for f in failures]

    def validated(self, path: str, inputs: Mapping[str, Any], rules: type[BaseModel]) -> dict[str, Any]:
        """The checked inputs of ``path`` as their rules make them (engine doubles as ints, ...)."""
        known = {k: v for k, v in self.request_inputs(inputs).items() if self.takes(path, k)}
        parsed = self._model(path, rules).model_validate(strip_unknowns(known))
        result: dict[str, Any] = parsed.model_dump(mode="json", exclude_none=True)
        return result

    # --- state ------------------------------------------------------------------------------------------

    def set_inputs(self, props: Mapping[str, Any]) -> dict[str, Any]:
        """The resource's own inputs, without engine keys and unset values."""
        return {k: v for k, v in props.items() if k in self._by_name and v is not None}

    def applied_inputs(self, olds: Mapping[str, Any]) -> dict[str, Any]:
        """The inputs as last applied, from state. State written before :data:`APPLIED` existed echoed each
        input under its own name and listed the names in ``input_keys``."""
        applied = olds.get(APPLIED)
        if isinstance(applied, Mapping):
            return self.set_inputs(applied)
        keys = olds.get(LEGACY_INPUT_KEYS)
        names = [str(k) for k in keys] if isinstance(keys, list) else list(self.input_names)
        return {k: olds[k] for k in names if k in self._by_name and olds.get(k) is not None}

    def in_program_terms(self, f: Field, given: Any, live: LiveImage) -> Any:
        """What IMS holds for ``f``, in the program's words where they mean the same (``given`` is the
        program's value, or None)."""
        assert f.reported is not None
        value = f.reported.live_value(live)
        if given is not None and f.reported.same(f.compare(given), value):
            return given
        return value

    def state(
        self,
        applied: Mapping[str, Any],
        live: LiveImage,
        computed: Mapping[str, Any],
        *,
        echoed: Iterable[str] = (),
    ) -> dict[str, Any]:
        """Outputs after create, update or read: every reported input as IMS has it (in the program's words
        where they agree), unreported ones echoed, the output-only attributes, and :data:`APPLIED` with the
        mutable inputs refreshed from IMS. Fields named in ``echoed`` are the caller's (e.g. entries it read
        itself) and are taken from ``applied`` as they are."""
        keep = set(echoed)
        outputs: dict[str, Any] = {}
        refreshed: dict[str, Any] = {}
        live_tags = live.user_tags() if live.tags is not None else None
        for f in self.fields:
            given = applied.get(f.name)
            if f.name in TAG_INPUTS:
                continue
            echo = f.reported is None or f.name in keep
            value = given if echo else self.in_program_terms(f, given, live)
            outputs[f.name] = value
            if given is not None:
                refreshed[f.name] = value if f.change is Change.UPDATE and f.name not in keep else given
        if live_tags is not None:
            key, value = in_program_form(applied, live_tags)
            outputs[key] = value
            if declared_tags(applied) is not None:
                refreshed[key] = value
        else:
            for key in TAG_INPUTS:
                if applied.get(key) is not None:
                    outputs[key] = refreshed[key] = applied[key]
        for output in self.outputs:
            outputs[output.name] = computed.get(output.name) if output.read is None else output.read(live)
        outputs[APPLIED] = {k: v for k, v in refreshed.items() if v is not None}
        return {k: v for k, v in outputs.items() if v is not None}

    # --- diff -------------------------------------------------------------------------------------------

    def changed(self, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
        """Inputs that differ between the applied inputs and the program; an unknown value is a change."""
        return [
            f.name
            for f in self.fields
            if f.change is not Change.NONE
            and (
                contains_unknown(new.get(f.name)) or f.compare(old.get(f.name)) != f.compare(new.get(f.name))
            )
        ]

    def replaces(self, changed: Sequence[str], old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
        """Of the changed inputs, those that need a new resource."""
        result = []
        for name in changed:
            f = self.field(name)
            if f.change is not Change.REPLACE:
                continue
            if f.entries is not None and only_entry_tags_differ(old.get(name), new.get(name)):
                continue
            result.append(name)
        return result

    # --- recovery ---------------------------------------------------------------------------------------

    def differences(
        self, request: Mapping[str, Any], live: LiveImage, path: str, *, skip: Iterable[str] = ()
    ) -> list[Difference]:
        """Where a live image disagrees with what ``request`` would have made on ``path``: every reported
        input of the path, set or not (unset ones against IMS's default). Tags count once, as key/value
        pairs."""
        found: list[Difference] = []
        seen: set[str] = set(skip)
        for f in self.accepted_on(path):
            reported = f.reported
            if reported is None or reported.key in seen or f.control or f.applied_after:
                continue
            seen.add(reported.key)
            requested = (
                declared_tags(request) or {} if reported.key == TAG_API else f.compare(request.get(f.name))
            )
            expected = reported.expected(requested, request, path)
            value = reported.live_value(live)
            if not reported.agrees(expected, value):
                name = "tags" if reported.key == TAG_API else f.name
                found.append(Difference(name, value, expected))
        return found


def single_model(name: str, rule: Any) -> type[BaseModel]:
    """A model of one input, so that its rule reports failures like any other field's."""
    model: type[BaseModel] = create_model(f"check_{name}", **{name: (rule, ...)})  # type: ignore[call-overload]
    return model


def named(failure: Failure) -> Failure:
    """An input named "" or " " still gets a visible property in the failure (quoted)."""
    if failure.property.strip():
        return failure
    return Failure(json.dumps(failure.property), failure.reason)


def only_entry_tags_differ(old: Any, new: Any) -> bool:
    """Two lists of entries that name the same things and differ only in their tags (which IMS changes in
    place even on a data image, where every PATCH is refused)."""
    if not isinstance(old, list) or not isinstance(new, list) or len(old) != len(new):
        return False
    strip = [_without_tags(item) for item in new]
    if contains_unknown(strip):
        return False
    return bool(nested([_without_tags(i) for i in old]) == nested(strip))


def _without_tags(item: Any) -> Any:
    if isinstance(item, Mapping):
        return {k: v for k, v in item.items() if k not in TAG_INPUTS}
    return item


# --- validation ---------------------------------------------------------------------------------------


def strip_unknowns(value: Any) -> Any:
    """Drop unknown values (and None) so the models validate only what is known."""
    if isinstance(value, Mapping):
        return {k: strip_unknowns(v) for k, v in value.items() if v is not None and not is_unknown(v)}
    if isinstance(value, list | tuple):
        return [strip_unknowns(v) for v in value if not is_unknown(v)]
    return value


def _is_unknown_at(raw: Any, loc: Iterable[int | str]) -> bool:
    node = raw
    for part in loc:
        if isinstance(node, Mapping) and isinstance(part, str):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return False
        if is_unknown(node):
            return True
    return False


def location(where: str, loc: Iterable[int | str]) -> str:
    path = where
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def _model_at(model: type[BaseModel], loc: Sequence[int | str]) -> type[BaseModel] | None:
    """The nested model that ``loc`` (a pydantic error location) ends in, to say what it allows."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        found = None
        for candidate in _models_in(current.model_fields[part].annotation) if _is_model(current) else ():
            found = candidate
        current = found
        if current is None:
            return None
    return current if _is_model(current) else None


def _is_model(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, BaseModel)


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if _is_model(annotation):
        return [annotation]
    found: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        found += _models_in(arg)
    return found


def _reason(field_name: str, error: Mapping[str, Any], model: type[BaseModel]) -> str:
    cause = (error.get("ctx") or {}).get("error")
    kind = error.get("type")
    loc = tuple(error.get("loc") or ())
    if kind == "extra_forbidden":
        parent = _model_at(model, loc[:-1])
        allowed = f"; it takes {', '.join(parent.model_fields)}" if parent is not None else ""
        return f"{field_name} is not one of the accepted keys{allowed}"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        target = _model_at(model, loc)
        keys = f" with {', '.join(target.model_fields)}" if target is not None else ""
        return f"{field_name} must be an object{keys} (got {type(error.get('input')).__name__})"
    if kind in ("too_short", "too_long"):
        ctx = error.get("ctx") or {}
        limit = ctx.get("min_length") if kind == "too_short" else ctx.get("max_length")
        bound = "at least" if kind == "too_short" else "at most"
        return f"{field_name} must list {bound} {limit} (got {ctx.get('actual_length')})"
    msg = str(cause) if isinstance(cause, ValueError) else str(error.get("msg", "is invalid"))
    msg = msg.removeprefix("Value error, ").replace("Input should be", "must be")
    if kind in ("literal_error", "list_type") and "input" in error:
        msg += f" (got {_shown(error['input'])})"
    if isinstance(cause, RuleError) or not field_name:
        return msg
    return f"{field_name} {msg}"


def failures_of(model: type[BaseModel], raw: Mapping[str, Any], where: str, scope: str) -> list[Failure]:
    """Run one model over the known values; each pydantic error becomes a Failure naming its property."""
    failures: list[Failure] = []
    try:
        model.model_validate(strip_unknowns(raw))
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(error["loc"])
            cause = (error.get("ctx") or {}).get("error")
            if isinstance(cause, RuleError):
                loc = (*loc, cause.field)
            name = next((str(p) for p in reversed(loc) if isinstance(p, str)), "")
            if error["type"] == "missing":
                if not _is_unknown_at(raw, loc):
                    failures.append(Failure(location(where, loc), f"{name} is required for {scope}"))
                continue
            failures.append(Failure(location(where, loc) or where, _reason(name, dict(error), model)))
    return failures


__all__ = [
    "APPLIED",
    "DERIVED",
    "KEEP",
    "OPTIONAL",
    "REMOVE",
    "REQUIRED",
    "TAG_API",
    "Change",
    "Difference",
    "Field",
    "Output",
    "Patch",
    "Presence",
    "Reported",
    "ResourceSchema",
    "contains_unknown",
    "failures_of",
    "is_unknown",
    "nested",
    "only_entry_tags_differ",
    "plain",
    "strip_unknowns",
    "tags_value",
    "whole",
]
