"""`RedactionPolicy`: one field-to-strategy mapping applied by every pillar.

Logs, spans, events and metric labels all call the same policy, so a field classified once
is handled the same everywhere. Matching is recursive and ignores case and separators.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable, Collection, Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any, Final
from uuid import UUID

from pydantic import BaseModel

from mic.redaction._strategies import (
    DROP,
    REDACTED,
    Redactor,
    is_redacted_output,
    redact_drop,
)
from mic.redaction._text import build_text_pattern, may_hold_secret, scrub_text, split_quotes

SECRET_FIELD_NAMES: Final = frozenset(
    {
        "password",
        "passwd",
        "pwd",
        "passphrase",
        "secret",
        "client_secret",
        "token",
        "access_token",
        "refresh_token",
        "id_token",
        "api_key",
        "x_api_key",
        "authorization",
        "proxy_authorization",
        "cookie",
        "set_cookie",
        "private_key",
        "credentials",
        "otp",
    }
)
"""Names dropped by default (``secret_defaults=True``), on top of the policy's own fields."""

_SAFE_SCALARS: Final = (bool, int, float, Decimal, UUID, datetime, date, time, timedelta, Enum)
_ATOMS: Final = frozenset({int, float, bool, type(None)})
_UNSET: Final = object()
_MEMO_LIMIT: Final = 4096
_DELETE_SEPARATORS: Final = {ord(c): None for c in " \t-_.:/[]()@"}
_MEMO_INDICES: Final = 64


class _TooDeep(Exception):  # noqa: N818 - internal signal, never escapes the policy
    """Raised by the walk at the depth limit; the entry points turn the field into REDACTED.

    Ending the whole field (rather than the one container at the limit) keeps the walk
    linear: a structure that refers to itself twice (``d["a"] = d["b"] = d``) would
    otherwise be walked 2**max_depth times before every path reached the limit.
    """


@functools.lru_cache(maxsize=4096)
def normalize_field_name(name: str) -> str:
    """The matching key of a field name: lower-case, separators removed.

    ``accessToken``, ``access_token``, ``Access-Token`` and ``access.token`` all become
    ``accesstoken``.
    """
    return name.lower().translate(_DELETE_SEPARATORS)


def _apply(strategy: Redactor, value: Any) -> Any:
    try:
        return strategy(value)
    except Exception:  # noqa: BLE001 - fail closed: a broken strategy must not leak the value
        return REDACTED


@dataclass(frozen=True, slots=True)
class RedactionPolicy:
    """Which fields are sensitive and how each is replaced.

    Attributes:
        redactors: Field name to strategy (`redact_drop`, `redact_mask`, `redact_hash`,
            `keyed_hash(key)`, or any callable). Names match case- and
            separator-insensitively.
        secret_defaults: Also drop the usual secret names (`SECRET_FIELD_NAMES`) unless
            `redactors` names them.
        detect_patterns: Also redact bearer tokens, JWTs, URL passwords and sensitive
            ``key=value`` pairs inside every string.
        max_depth: Nesting depth beyond which the top-level entry holding the deeper part
            is replaced by ``[REDACTED]`` (this also ends cycles, in linear time).

    Thread-safe and immutable; build it once at startup.
    """

    redactors: Mapping[str, Redactor] = field(default_factory=dict)
    secret_defaults: bool = True
    detect_patterns: bool = True
    max_depth: int = 32
    _fields: dict[str, Redactor] = field(init=False, repr=False, compare=False)
    _pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)
    _memo: dict[Any, Redactor | None] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.max_depth < 1:
            raise ValueError("max_depth must be >= 1")
        compiled: dict[str, Redactor] = {}
        if self.secret_defaults:
            defaults = map(normalize_field_name, SECRET_FIELD_NAMES)
            compiled.update(dict.fromkeys(defaults, redact_drop))
        own: dict[str, str] = {}
        for name, strategy in self.redactors.items():
            if not callable(strategy):
                raise TypeError(f"the strategy for field {name!r} is not callable")
            key = normalize_field_name(name)
            if not key:
                raise ValueError(f"field name {name!r} has no letters or digits")
            if key in own and compiled[key] is not strategy:
                raise ValueError(f"fields {own[key]!r} and {name!r} match the same names")
            own[key] = name
            compiled[key] = strategy
        object.__setattr__(self, "redactors", dict(self.redactors))
        object.__setattr__(self, "_fields", compiled)
        object.__setattr__(self, "_pattern", build_text_pattern(compiled))
        object.__setattr__(self, "_memo", {})

    def with_fields(self, redactors: Mapping[str, Redactor]) -> RedactionPolicy:
        """A policy with `redactors` added (overriding fields of the same name)."""
        merged = {**self.redactors, **redactors}
        return dataclasses.replace(self, redactors=merged)

    def strategy_for(self, name: str) -> Redactor | None:
        """The strategy for field `name`, or ``None`` when it is not sensitive.

        A dotted name (``http.request.header.authorization``) matches by its whole name
        first, then by its last segment.
        """
        memo = self._memo
        strategy = memo.get(name, _UNSET)
        if strategy is not _UNSET:
            return strategy  # type: ignore[return-value]
        fields_ = self._fields
        strategy = fields_.get(normalize_field_name(name))
        if strategy is None and "." in name:
            strategy = fields_.get(normalize_field_name(name.rpartition(".")[2]))
        # Field names repeat (log extras, event schemas): remember a bounded number of them.
        # Plain dict reads and writes are atomic, so this stays thread-safe.
        if len(memo) < _MEMO_LIMIT:
            memo[name] = strategy
        return strategy

    def _key_strategy(self, key: Any) -> Redactor | None:
        # The strategy of a dict key or list index: names may be bytes (ASGI headers);
        # other keys are never sensitive. Bytes names and small list indices are remembered
        # (not every index of a long list: the memo is bounded and names need it more).
        if isinstance(key, str):
            return self.strategy_for(key)
        kind = type(key)
        strategy = self.strategy_for(key.decode("latin-1")) if kind is bytes else None
        remember = kind is bytes or (kind is int and 0 <= key < _MEMO_INDICES)
        if remember and len(self._memo) < _MEMO_LIMIT:
            self._memo[key] = strategy
        return strategy

    def is_sensitive(self, name: str) -> bool:
        """Whether field `name` has a strategy (see `strategy_for`)."""
        return self.strategy_for(name) is not None

    def redact_field(self, name: str, value: Any) -> Any:
        """What field `name` holding `value` may show: its strategy's answer, or `value`
        redacted recursively. May return `DROP` (remove the field).

        A strategy that raises is treated as answering ``[REDACTED]`` (fail closed).
        """
        strategy = self.strategy_for(name)
        if strategy is not None:
            return _apply(strategy, value)
        return self._guarded_walk(value)

    def redact(self, value: Any) -> Any:
        """`value` with every sensitive part redacted; the input is never modified.

        Mappings, lists, tuples, sets, pydantic models, dataclasses and named tuples are
        walked; models, dataclasses and named tuples come back as ``dict``. Strings are
        scanned for secret patterns (bytes too, when they decode as UTF-8). Other objects
        are returned as they are unless their ``str()`` holds a secret, in which case the
        redacted text replaces them.

        Only what changes is copied: a dict, list, tuple or set with nothing to redact is
        returned as it is (so the result may be `value` itself, or share unchanged parts
        with it). Treat the result as read-only, as you treat the input; copy it before
        modifying it.

        A two-item list or tuple whose first item names a sensitive field (a header pair
        such as ``("Authorization", "...")``, names as ``str`` or ``bytes``) has its second
        item redacted as that field. Nesting deeper than `max_depth` (a cyclic structure
        included) fails closed: the top-level entry holding it becomes ``[REDACTED]``
        (the whole value when it is not a dict, list or tuple). Never raises.
        """
        return self._guarded_walk(value)

    def redact_fields(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Redact each (name, value) of `fields`: like `redact`, for a top-level mapping.

        A ``dict`` with nothing to redact is returned as it is (see `redact`).
        """
        try:
            if type(fields) is dict:
                return self._walk_dict(fields, 0)  # type: ignore[no-any-return]
            return self._walk_pairs(fields.items(), 1)
        except _FAILURES:
            return self._fields_one_by_one(fields.items())

    def redact_in_place(self, target: MutableMapping[str, Any], names: Iterable[str]) -> None:
        """Redact the entries `names` of `target` in place, as `redact_fields` would.

        Entries whose strategy drops them are removed; entries with nothing to redact are
        not touched. This is how `RedactingLogFilter` treats a record's ``extra`` fields.
        """
        # Two iterations of an unmodified set (or any collection) give the same order.
        try:
            found = self._changes(zip(names, map(target.__getitem__, names), strict=True), 1)
        except _FAILURES:
            found = self._changes_one_by_one([(name, target[name]) for name in names])
        if found is not None:
            _apply_changes(target, found)

    def scrub_text(self, text: str) -> str:
        """`text` with pattern secrets and sensitive ``key=value`` pairs redacted.

        Returns `text` itself when there is nothing to redact.
        """
        # `may_hold_secret`, inlined: this runs for every string of every log line.
        if self.detect_patterns and (
            ":" in text
            or "=" in text
            or "eyJ" in text
            or "earer" in text
            or "EARER" in text
            or "Basic" in text
            or "'," in text
            or '",' in text
        ):
            return scrub_text(text, self._pattern, self._text_field)
        return text

    def holds_secret(self, text: str) -> bool:
        """Whether `text` contains something `scrub_text` would redact."""
        return self.detect_patterns and may_hold_secret(text) and self.scrub_text(text) != text

    def _text_field(self, name: str, raw: str) -> str:
        strategy = self.strategy_for(name) or redact_drop
        opening, content, closing = split_quotes(raw)
        if is_redacted_output(content):
            # Already redacted (a structure walked before it was formatted into text):
            # hashing a hash again would break correlation.
            return raw
        result = _apply(strategy, content)
        if result is DROP:
            result = REDACTED
        return f"{opening}{result}{closing}"

    # The walk below runs for every value of every log line. Conventions that keep it fast:
    # exact types are dispatched through `_WALKERS` (one dict lookup, no `isinstance`
    # chain); a container with nothing to redact is returned as it is, so callers compare
    # results by identity (`is`) to learn whether anything changed and copy only then;
    # `DROP` returned for a field means "remove it".

    def _guarded_walk(self, value: Any) -> Any:
        try:
            return self._walk(value, 0)
        except _FAILURES:
            pass
        # Something is too deep (or cyclic): end only the top-level entries that hold it.
        kind = type(value)
        if kind is dict:
            return self._fields_one_by_one(value.items())
        if kind is list or kind is tuple:
            items = [result for _, result in self._changes_one_by_one(enumerate(value))]
            return items if kind is list else tuple(items)
        return REDACTED

    def _changes_one_by_one(self, pairs: Iterable[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
        # The slow path after a `_TooDeep`: every (key, value) walked on its own, so only the
        # entries that are too deep become `REDACTED`.
        results: list[tuple[Any, Any]] = []
        for key, item in pairs:
            try:
                found = self._changes(((key, item),), 1)
            except _FAILURES:
                found = [(key, REDACTED)]
            results.append(found[0] if found else (key, item))
        return results

    def _fields_one_by_one(self, pairs: Iterable[tuple[Any, Any]]) -> dict[Any, Any]:
        results = self._changes_one_by_one(pairs)
        return {key: result for key, result in results if result is not DROP}

    def _walk(self, value: Any, depth: int) -> Any:
        kind = type(value)
        if kind is str:
            return self.scrub_text(value)
        if kind in _ATOMS:
            return value
        walker = _WALKERS.get(kind)
        if walker is not None:
            return walker(self, value, depth)
        if depth >= self.max_depth:
            if isinstance(value, _SAFE_SCALARS):
                return value
            raise _TooDeep
        return self._walk_general(value, depth)

    def _changes(  # noqa: PLR0912 - one flat loop on purpose: each branch saves a call
        self, pairs: Iterable[tuple[Any, Any]], depth: int
    ) -> list[tuple[Any, Any]] | None:
        # The (name, new value or `DROP`) of the fields (at `depth`) that change, or `None`
        # when none does. The common values (numbers, strings without secrets, small
        # dicts) cost no extra call: the secret pre-check (`may_hold_secret`) and the dict
        # walk (`_walk_dict`) are inlined.
        found: list[tuple[Any, Any]] | None = None
        for key, item in pairs:
            strategy: Any = self._memo.get(key, _UNSET)
            if strategy is _UNSET:
                strategy = self._key_strategy(key)
            if strategy is not None:
                try:
                    result = strategy(item)
                except Exception:  # noqa: BLE001 - fail closed, as `_apply`
                    result = REDACTED
            else:
                kind = type(item)
                if kind is str:
                    if not (
                        self.detect_patterns
                        and (
                            ":" in item
                            or "=" in item
                            or "eyJ" in item
                            or "earer" in item
                            or "EARER" in item
                            or "Basic" in item
                            or "'," in item
                            or '",' in item
                        )
                    ):
                        continue
                    result = scrub_text(item, self._pattern, self._text_field)
                elif kind in _ATOMS:
                    continue
                elif kind is dict and depth < self.max_depth:
                    nested = self._changes(item.items(), depth + 1)
                    if nested is None:
                        continue
                    result = _copy_with(item, nested)
                else:
                    walker = _WALKERS.get(kind)
                    result = (
                        self._walk(item, depth) if walker is None else walker(self, item, depth)
                    )
            if result is not item:
                if found is None:
                    found = []
                found.append((key, result))
        return found

    def _walk_dict(self, value: dict[Any, Any], depth: int) -> Any:
        if depth >= self.max_depth:
            raise _TooDeep
        found = self._changes(value.items(), depth + 1)
        return value if found is None else _copy_with(value, found)

    def _walk_list(self, value: list[Any], depth: int) -> Any:
        if depth >= self.max_depth:
            raise _TooDeep
        if len(value) == 2 and type(value[0]) in _NAMES:  # a (name, value) pair
            pair = self._pair(value)
            if pair is not None:
                return list(pair)
        # Enumerated items are (index, item) pairs: the field walk serves lists as well.
        found = self._changes(enumerate(value), depth + 1)
        if found is None:
            return value
        copy = list(value)
        for index, result in found:
            copy[index] = result
        return copy

    def _walk_tuple(self, value: tuple[Any, ...], depth: int) -> Any:
        items = list(value)
        walked = self._walk_list(items, depth)
        return value if walked is items else tuple(walked)

    def _pair(self, pair: Sequence[Any]) -> tuple[Any, Any] | None:
        # A (name, value) pair, as in a list of headers: redact the value as field `name`.
        name = pair[0]
        strategy = self.strategy_for(name.decode("latin-1") if type(name) is bytes else name)
        if strategy is None:
            return None
        result = _apply(strategy, pair[1])
        return name, REDACTED if result is DROP else result

    def _walk_set(self, value: set[Any] | frozenset[Any], depth: int) -> Any:
        items = list(value)
        walked = self._walk_list(items, depth)
        if walked is items:
            return value
        return _as_set(walked, frozen=isinstance(value, frozenset))

    def _walk_general(self, value: Any, depth: int) -> Any:
        if isinstance(value, str):
            return self.scrub_text(str(value))
        if isinstance(value, _SAFE_SCALARS):
            return value
        if isinstance(value, Mapping):
            return self._walk_pairs(value.items(), depth + 1)
        if isinstance(value, tuple) and hasattr(value, "_fields"):
            return self._walk_pairs(zip(value._fields, value, strict=True), depth + 1)
        if isinstance(value, list | tuple | set | frozenset):
            return self._walk_collection(value, depth)
        return self._walk_object(value, depth)

    def _walk_collection(self, value: Collection[Any], depth: int) -> Any:
        # Subclasses of the built-in collections come back as the built-in type.
        items = [self._walk(item, depth + 1) for item in value]
        if isinstance(value, list):
            return items
        if isinstance(value, tuple):
            return tuple(items)
        return _as_set(items, frozen=isinstance(value, frozenset))

    def _walk_object(self, value: Any, depth: int) -> Any:
        if isinstance(value, BaseModel):
            return self._walk_model(value, depth + 1)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            # A field declared with ``init=False`` may be unset (slots: no attribute at all).
            pairs = ((f.name, getattr(value, f.name, _UNSET)) for f in dataclasses.fields(value))
            return self._walk_pairs(((k, v) for k, v in pairs if v is not _UNSET), depth + 1)
        return self._walk_other(value)

    def _walk_model(self, model: BaseModel, depth: int) -> dict[Any, Any]:
        # Fields keep their Python names; a field is sensitive by its name or by an alias
        # (``Field(alias="password")`` is a password on the wire, whatever its Python name).
        out = self._walk_pairs(_model_items(model), depth)
        for name, info in type(model).model_fields.items():
            if name not in out or self.strategy_for(name) is not None:
                continue
            for alias in (info.alias, info.serialization_alias, info.validation_alias):
                strategy = self.strategy_for(alias) if isinstance(alias, str) else None
                if strategy is not None:
                    result = _apply(strategy, getattr(model, name))
                    if result is DROP:
                        del out[name]
                    else:
                        out[name] = result
                    break
        return out

    def _walk_pairs(self, pairs: Iterable[tuple[Any, Any]], depth: int) -> dict[Any, Any]:
        # A new dict of the fields (at `depth`) that remain, redacted.
        out = dict(pairs)
        found = self._changes(out.items(), depth)
        if found is not None:
            _apply_changes(out, found)
        return out

    def _walk_other(self, value: Any) -> Any:
        if isinstance(value, bytes | bytearray | memoryview):
            # Not UTF-8: Latin-1 maps every byte to one character, so ASCII secrets are
            # still found and every other byte comes back as it was.
            raw = bytes(value)
            try:
                text, encoding = raw.decode("utf-8"), "utf-8"
            except UnicodeDecodeError:
                text, encoding = raw.decode("latin-1"), "latin-1"
            scrubbed = self.scrub_text(text)
            if scrubbed is text:
                return value
            try:
                return scrubbed.encode(encoding)
            except UnicodeEncodeError:  # a custom strategy answered beyond Latin-1
                return REDACTED
        if not self.detect_patterns:
            return value
        try:
            text = str(value)
        except Exception:  # noqa: BLE001 - an object whose str() fails cannot be checked
            return REDACTED
        scrubbed = scrub_text(text, self._pattern, self._text_field)
        return value if scrubbed == text else scrubbed


def _as_set(items: list[Any], *, frozen: bool) -> Any:
    # Redacted items may be unhashable (a frozen dataclass becomes a dict): keep the list.
    try:
        return frozenset(items) if frozen else set(items)
    except TypeError:
        return items


def _apply_changes(target: MutableMapping[Any, Any], changes: list[tuple[Any, Any]]) -> None:
    for key, result in changes:
        if result is DROP:
            del target[key]
        else:
            target[key] = result


def _copy_with(value: dict[Any, Any], changes: list[tuple[Any, Any]]) -> dict[Any, Any]:
    copy = dict(value)
    _apply_changes(copy, changes)
    return copy


def _same(policy: RedactionPolicy, value: Any, depth: int) -> Any:
    del policy, depth
    return value


_FAILURES: Final = (Exception,)
"""What ends the walk of one entry: too deep (`_TooDeep`, `RecursionError`) or an object
whose walk raised (a mapping whose ``items()`` fails). The entry becomes REDACTED."""
_NAMES: Final = frozenset({str, bytes})

_WALKERS: Final[dict[type, Callable[[RedactionPolicy, Any, int], Any]]] = {
    dict: RedactionPolicy._walk_dict,
    list: RedactionPolicy._walk_list,
    tuple: RedactionPolicy._walk_tuple,
    set: RedactionPolicy._walk_set,
    frozenset: RedactionPolicy._walk_set,
    **dict.fromkeys((Decimal, UUID, datetime, date, time, timedelta), _same),
}
"""Walkers by exact type (subclasses take the general path). Scalars here need no depth check."""


def _model_items(model: BaseModel) -> Iterable[tuple[str, Any]]:
    for name in type(model).model_fields:
        # ``model_construct`` may leave a field unset.
        value = getattr(model, name, _UNSET)
        if value is not _UNSET:
            yield name, value
    if model.__pydantic_extra__:
        yield from model.__pydantic_extra__.items()


def as_policy(
    redactors: Mapping[str, Redactor] | None, policy: RedactionPolicy | None
) -> RedactionPolicy:
    """The policy from either argument of a redacting component (not both).

    Raises:
        TypeError: Both were given.
    """
    if policy is not None:
        if redactors is not None:
            raise TypeError("pass either redactors= or policy=, not both")
        return policy
    return RedactionPolicy(redactors=redactors or {})
