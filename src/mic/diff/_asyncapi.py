"""Breaking-change rules for AsyncAPI 3.x documents (what `mic.asyncapi` builds).

Operations are matched by key, channels by key, messages by their key in the channel. An
operation's action decides the direction of its messages: what the application *sends* is
received by its consumers (a wider payload, a new message or a lost field breaks them); what
it *receives* is sent by producers (a narrower payload, a removed message, a new required
field breaks them). A reply flows the other way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from mic.diff._model import BREAKING, COMPATIBLE, Change, escape
from mic.diff._schema import Direction, SchemaComparer, resolve_object

_OPPOSITE: Final[dict[Direction, Direction]] = {"request": "response", "response": "request"}


def is_asyncapi(document: Mapping[str, Any]) -> bool:
    """Whether `document` is an AsyncAPI 3.x document."""
    version = document.get("asyncapi")
    return isinstance(version, str) and version.startswith("3.")


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


class AsyncApiDiff:
    """Every change between two AsyncAPI documents.

    Args:
        old: The old document.
        new: The new document.
    """

    def __init__(self, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        self.old, self.new = old, new
        self.changes: list[Change] = []
        self.schemas = SchemaComparer(old, new, self.changes.append)

    def run(self) -> list[Change]:
        """Compare the documents; the changes found."""
        self._channels()
        old_ops = dict(self.old.get("operations") or {})
        new_ops = dict(self.new.get("operations") or {})
        for key in sorted(old_ops.keys() - new_ops.keys()):
            self._emit(
                "operation.removed",
                BREAKING,
                f"operation {key}",
                f"/operations/{escape(key)}",
                "the operation was removed",
            )
        for key in sorted(new_ops.keys() - old_ops.keys()):
            self._emit(
                "operation.added",
                COMPATIBLE,
                f"operation {key}",
                f"/operations/{escape(key)}",
                "new operation",
            )
        for key in sorted(old_ops.keys() & new_ops.keys()):
            self._operation(
                key, resolve_object(self.old, old_ops[key]), resolve_object(self.new, new_ops[key])
            )
        return self.changes

    def _emit(self, rule: str, breaking: bool, location: str, pointer: str, message: str) -> None:
        self.changes.append(Change(rule, breaking, location, pointer, message))

    def _channels(self) -> None:
        old_channels = dict(self.old.get("channels") or {})
        new_channels = dict(self.new.get("channels") or {})
        for key in sorted(old_channels.keys() - new_channels.keys()):
            self._emit(
                "channel.removed",
                BREAKING,
                f"channel {key}",
                f"/channels/{escape(key)}",
                "the channel was removed",
            )
        for key in sorted(new_channels.keys() - old_channels.keys()):
            self._emit(
                "channel.added",
                COMPATIBLE,
                f"channel {key}",
                f"/channels/{escape(key)}",
                "new channel",
            )
        for key in sorted(old_channels.keys() & new_channels.keys()):
            before = resolve_object(self.old, old_channels[key]).get("address")
            after = resolve_object(self.new, new_channels[key]).get("address")
            if before != after:
                self._emit(
                    "channel.address-changed",
                    BREAKING,
                    f"channel {key}",
                    f"/channels/{escape(key)}/address",
                    f"address {before!r} became {after!r}",
                )

    def _operation(self, key: str, old: Any, new: Any) -> None:
        location, pointer = f"operation {key}", f"/operations/{escape(key)}"
        action = new.get("action")
        if old.get("action") != action:
            self._emit(
                "operation.action-changed",
                BREAKING,
                location,
                f"{pointer}/action",
                f"action {old.get('action')!r} became {action!r}",
            )
            return
        old_channel = resolve_object(self.old, old.get("channel"))
        new_channel = resolve_object(self.new, new.get("channel"))
        if old_channel.get("address") != new_channel.get("address"):
            self._emit(
                "operation.channel-changed",
                BREAKING,
                location,
                f"{pointer}/channel",
                f"now on {new_channel.get('address')!r} instead of {old_channel.get('address')!r}",
            )
        direction: Direction = "response" if action == "send" else "request"
        self._messages(
            location,
            f"{pointer}/messages",
            direction,
            self._operation_messages(self.old, old, old_channel),
            self._operation_messages(self.new, new, new_channel),
        )
        self._security(location, f"{pointer}/security", old, new)
        self._reply(location, f"{pointer}/reply", direction, old, new)

    @staticmethod
    def _operation_messages(
        document: Mapping[str, Any], operation: Any, channel: Any
    ) -> dict[str, Any]:
        """Message key to resolved message; an operation without a list uses its channel's."""
        listed = operation.get("messages")
        if listed is None:
            return {
                name: resolve_object(document, message)
                for name, message in (channel.get("messages") or {}).items()
            }
        return _keyed_messages(document, listed)

    def _messages(
        self,
        location: str,
        pointer: str,
        direction: Direction,
        old: dict[str, Any],
        new: dict[str, Any],
    ) -> None:
        sends = direction == "response"
        for name in sorted(old.keys() - new.keys()):
            # Producers still send it to a receiver that no longer handles it.
            self._emit(
                "message.removed", not sends, location, pointer, f"message {name!r} was removed"
            )
        for name in sorted(new.keys() - old.keys()):
            # Consumers of a sender get a message they do not know.
            self._emit("message.added", sends, location, pointer, f"new message {name!r}")
        for name in sorted(old.keys() & new.keys()):
            before, after = old[name], new[name]
            at = f"{location} message {name!r}"
            if before.get("contentType") != after.get("contentType"):
                self._emit(
                    "message.content-type-changed",
                    BREAKING,
                    at,
                    pointer,
                    f"content type {before.get('contentType')!r} became "
                    f"{after.get('contentType')!r}",
                )
            for part in ("payload", "headers"):
                if part in before or part in after:
                    self.schemas.compare(
                        before.get(part),
                        after.get(part),
                        pointer=pointer,
                        location=f"{at} {part}",
                        direction=direction,
                    )

    def _security(self, location: str, pointer: str, old: Any, new: Any) -> None:
        before = {_scheme(self.old, item) for item in old.get("security") or ()}
        after = {_scheme(self.new, item) for item in new.get("security") or ()}
        if not before and after:
            self._emit("security.added", BREAKING, location, pointer, "now requires credentials")
        elif before and not after:
            self._emit(
                "security.removed", COMPATIBLE, location, pointer, "no longer requires credentials"
            )
        elif before and not before & after:
            self._emit(
                "security.changed",
                BREAKING,
                location,
                pointer,
                "requires other credentials than before",
            )

    def _reply(self, location: str, pointer: str, direction: Direction, old: Any, new: Any) -> None:
        before, after = old.get("reply"), new.get("reply")
        if before is None and after is None:
            return
        if after is None:
            self._emit("reply.removed", BREAKING, location, pointer, "no reply any more")
            return
        if before is None:
            self._emit("reply.added", COMPATIBLE, location, pointer, "now replies")
            return
        before, after = resolve_object(self.old, before), resolve_object(self.new, after)
        old_channel = resolve_object(self.old, before.get("channel"))
        new_channel = resolve_object(self.new, after.get("channel"))
        self._messages(
            f"{location} reply",
            f"{pointer}/messages",
            _OPPOSITE[direction],
            self._operation_messages(self.old, before, old_channel),
            self._operation_messages(self.new, after, new_channel),
        )


def _keyed_messages(document: Mapping[str, Any], listed: Any) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for index, item in enumerate(listed if isinstance(listed, list) else ()):
        reference = item.get("$ref") if isinstance(item, Mapping) else None
        message = resolve_object(document, item)
        if isinstance(reference, str):
            name = _unescape(reference.rsplit("/", 1)[-1])
        else:
            name = str(message.get("name") or index)
        found[name] = message
    return found


def _scheme(document: Mapping[str, Any], item: Any) -> str:
    reference = item.get("$ref") if isinstance(item, Mapping) else None
    if isinstance(reference, str):
        return _unescape(reference.rsplit("/", 1)[-1])
    return repr(sorted(resolve_object(document, item).items()))


def diff_asyncapi(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    """Every change from the AsyncAPI document `old` to `new`."""
    return AsyncApiDiff(old, new).run()
