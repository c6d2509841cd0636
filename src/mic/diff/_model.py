"""What a contract diff reports: `Change`s, each breaking or not, gathered in a `DiffReport`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from mic._errors import MicError

BREAKING: Final = True
"""`Change.breaking` of a change that can fail clients of the old version."""
COMPATIBLE: Final = False
"""`Change.breaking` of a change clients of the old version can ignore."""


class ContractDiffError(MicError, ValueError):
    """A document cannot be compared: unknown kind, two different kinds, or not a document."""


@dataclass(frozen=True, slots=True)
class Change:
    """One difference between two versions of a contract.

    Attributes:
        rule: Stable id of the rule that found it (``operation.removed``,
            ``request.property.required-added``...): scripts filter on it.
        breaking: Whether a client written against the old version can fail on the new one.
        location: Where, for a reader: ``GET /items/{item_id}``, ``channel orders``...
        pointer: JSON Pointer (RFC 6901) into the new document, or the old one when the
            thing was removed.
        message: One sentence saying what changed.
    """

    rule: str
    breaking: bool
    location: str
    pointer: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        """The change as JSON-ready data."""
        return {
            "rule": self.rule,
            "breaking": self.breaking,
            "location": self.location,
            "pointer": self.pointer,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class DiffReport:
    """Every change between two documents of one kind.

    Attributes:
        kind: The document kind (``openapi``, ``asyncapi``).
        old_version: ``info.version`` of the old document, when it has one.
        new_version: ``info.version`` of the new document, when it has one.
        changes: Breaking changes first, then by location and rule.
    """

    kind: str
    old_version: str | None
    new_version: str | None
    changes: tuple[Change, ...]

    @property
    def breaking(self) -> tuple[Change, ...]:
        """The breaking changes."""
        return tuple(change for change in self.changes if change.breaking)

    @property
    def is_breaking(self) -> bool:
        """Whether any change is breaking."""
        return any(change.breaking for change in self.changes)

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (what ``mic diff --format json`` prints)."""
        return {
            "kind": self.kind,
            "old_version": self.old_version,
            "new_version": self.new_version,
            "breaking": self.is_breaking,
            "summary": {
                "breaking": len(self.breaking),
                "non_breaking": len(self.changes) - len(self.breaking),
            },
            "changes": [change.to_dict() for change in self.changes],
        }

    def render_text(self) -> str:
        """The report for a terminal: a summary line, then one line per change."""
        versions = f"{self.old_version or '?'} -> {self.new_version or '?'}"
        if not self.changes:
            return f"{self.kind} {versions}: no changes\n"
        lines = [
            f"{self.kind} {versions}: {len(self.breaking)} breaking, "
            f"{len(self.changes) - len(self.breaking)} non-breaking change(s)"
        ]
        for change in self.changes:
            mark = "BREAKING" if change.breaking else "ok      "
            lines.append(f"  {mark} {change.location}: {change.message} [{change.rule}]")
        return "\n".join(lines) + "\n"


def sorted_changes(changes: list[Change]) -> tuple[Change, ...]:
    """`changes` without duplicates, breaking first, then by location, pointer and rule."""
    unique = dict.fromkeys(changes)
    return tuple(sorted(unique, key=lambda c: (not c.breaking, c.location, c.pointer, c.rule)))


def escape(token: str) -> str:
    """`token` as one JSON Pointer reference token (RFC 6901 section 3)."""
    return token.replace("~", "~0").replace("/", "~1")
