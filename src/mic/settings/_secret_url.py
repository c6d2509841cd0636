"""`SecretUrl`: a connection URL whose password never shows in a repr, a log or an error."""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import SecretStr

MASK = "***"


def mask_url(url: str) -> str:
    """`url` with its password (and any query string, which may hold tokens) masked.

    A URL that cannot be parsed is masked whole: what cannot be read cannot be trusted.
    """
    try:
        parts = urlsplit(url)
        password = parts.password
        netloc = parts.netloc
    except ValueError:
        return MASK
    if password is None and not parts.query:
        return url
    if password is not None:
        user_info, _, host = netloc.rpartition("@")
        user = user_info.split(":", 1)[0]
        netloc = f"{user}:{MASK}@{host}"
    # Rebuilt by hand: urlunsplit drops the "//" of an empty host (sqlite:///path).
    query = f"?{MASK}" if parts.query else ""
    fragment = f"#{parts.fragment}" if parts.fragment else ""
    return f"{parts.scheme}://{netloc}{parts.path}{query}{fragment}"


class SecretUrl(SecretStr):
    """A URL setting that may carry credentials (``postgresql+psycopg://app:pw@db/app``).

    ``str()``, ``repr()`` and JSON dumps show it with the password and query masked
    (``postgresql+psycopg://app:***@db/app``); `get_secret_value` gives the real URL, to
    hand to a driver and nowhere else.
    """

    def _display(self) -> str:
        return mask_url(self.get_secret_value())

    @property
    def scheme(self) -> str:
        """The URL's scheme, lower-cased (``memory``, ``redis``, ``sqlite+aiosqlite``...)."""
        return self.get_secret_value().partition("://")[0].lower()
