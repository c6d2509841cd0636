"""Case-insensitive headers, query strings and cookies parsed from raw ASGI values."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import overload
from urllib.parse import parse_qsl


class Headers(Mapping[str, str]):
    """Read-only, case-insensitive view of request headers; repeated names keep every value.

    `headers["Accept"]` returns the first value; `getall("accept")` returns all of them.
    """

    __slots__ = ("_index", "_raw")

    def __init__(self, raw: Iterable[tuple[bytes, bytes]] = ()) -> None:
        self._raw = list(raw)
        self._index: dict[str, list[str]] | None = None

    @classmethod
    def from_mapping(cls, values: Mapping[str, str] | Iterable[tuple[str, str]]) -> Headers:
        """Build headers from text pairs (a dict, or a list for repeated names)."""
        pairs = values.items() if isinstance(values, Mapping) else values
        return cls((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in pairs)

    def _build(self) -> dict[str, list[str]]:
        index: dict[str, list[str]] = {}
        for name, value in self._raw:
            index.setdefault(name.decode("latin-1").lower(), []).append(value.decode("latin-1"))
        self._index = index
        return index

    def __getitem__(self, name: str) -> str:
        index = self._index if self._index is not None else self._build()
        return index[name.lower()][0]

    @overload  # type: ignore[override]
    def get(self, name: str) -> str | None: ...
    @overload
    def get(self, name: str, default: str) -> str: ...
    @overload
    def get(self, name: str, default: str | None) -> str | None: ...

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of `name`, or `default`.

        Until a whole index is needed, the raw pairs are searched for this one name: a
        request usually reads two or three headers of the dozen it carries.
        """
        if self._index is not None:
            found = self._index.get(name.lower())
            return found[0] if found else default
        value = first_raw_header(self._raw, name.lower().encode("latin-1"))
        return default if value is None else value

    def __contains__(self, name: object) -> bool:
        index = self._index if self._index is not None else self._build()
        return isinstance(name, str) and name.lower() in index

    def __iter__(self) -> Iterator[str]:
        index = self._index if self._index is not None else self._build()
        return iter(index)

    def __len__(self) -> int:
        index = self._index if self._index is not None else self._build()
        return len(index)

    def getall(self, name: str) -> list[str]:
        """Every value sent for `name`, in order; empty when absent."""
        index = self._index if self._index is not None else self._build()
        return list(index.get(name.lower(), ()))

    @property
    def raw(self) -> list[tuple[bytes, bytes]]:
        """The header pairs as the server received them."""
        return list(self._raw)

    def __repr__(self) -> str:
        return f"Headers({dict(self.items())!r})"


def first_raw_header(raw: Iterable[tuple[bytes, bytes]], key: bytes) -> str | None:
    """The first value of header `key` (lower-case bytes) in raw ASGI pairs, or ``None``."""
    size = len(key)
    for raw_name, value in raw:
        # ASGI servers send lower-case names; `lower()` only where the length fits.
        if len(raw_name) == size and (raw_name == key or raw_name.lower() == key):
            return value.decode("latin-1")
    return None


class QueryParams(Mapping[str, str]):
    """Read-only query parameters; repeated keys keep every value (`getall`)."""

    __slots__ = ("_index",)

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()) -> None:
        index: dict[str, list[str]] = {}
        for key, value in pairs:
            index.setdefault(key, []).append(value)
        self._index = index

    @classmethod
    def parse(cls, query_string: bytes | str) -> QueryParams:
        """Parse an URL query string; blank values are kept, `+` means space."""
        text = query_string.decode("latin-1") if isinstance(query_string, bytes) else query_string
        return cls(parse_qsl(text, keep_blank_values=True))

    def __getitem__(self, key: str) -> str:
        return self._index[key][0]

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def getall(self, key: str) -> list[str]:
        """Every value sent for `key`, in order; empty when absent."""
        return list(self._index.get(key, ()))

    def __repr__(self) -> str:
        return f"QueryParams({self._index!r})"


def parse_cookie_header(value: str) -> dict[str, str]:
    """Parse a `Cookie` request header (RFC 6265 section 5.4); malformed pairs are skipped.

    The first occurrence of a name wins, as browsers send the most specific cookie first.
    """
    cookies: dict[str, str] = {}
    for chunk in value.split(";"):
        name, sep, val = chunk.partition("=")
        name = name.strip()
        if not sep or not name:
            continue
        val = val.strip()
        if len(val) >= 2 and val[0] == val[-1] == '"':
            val = val[1:-1]
        cookies.setdefault(name, val)
    return cookies
