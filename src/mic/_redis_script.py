"""Running a Redis Lua script, one way for every backend: EVALSHA, then EVAL if the server
lost it (after a restart or ``SCRIPT FLUSH``); EVAL caches it again for the next EVALSHA.

Used by the Redis rate limiter, locks and idempotency store (issue 15: they ran scripts two
ways). Needs the ``redis`` extra when a script is built, not when this module is imported.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from mic._deps import require


class RedisScript:
    """A Lua script named by its SHA-1.

    Args:
        source: The Lua source.

    Raises:
        MissingDependencyError: The ``redis`` extra is not installed.
    """

    __slots__ = ("_no_script", "sha", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        # SHA-1 is what Redis names scripts by (EVALSHA), not a security measure here.
        self.sha = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()
        self._no_script: type[Exception] = require("redis.exceptions", "redis").NoScriptError

    async def __call__(self, client: Any, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        """Run the script on `client` (a `redis.asyncio.Redis`) with `keys` and `args`.

        Raises:
            redis.exceptions.RedisError: The server refused it or could not be reached.
        """
        try:
            return await client.evalsha(self.sha, len(keys), *keys, *args)
        except self._no_script:
            return await client.eval(self.source, len(keys), *keys, *args)
