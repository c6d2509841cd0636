"""`RealtimeServer`: uvicorn's server, closing WebSockets with 1001 before it stops.

uvicorn closes open WebSockets itself with 1012 (service restart) before the application's
lifespan shutdown runs, so no shutdown hook can say "going away" first. This server closes
the hubs first (ADR 0090). Requires the ``server`` extra (uvicorn).
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from typing import Any

from mic._deps import require
from mic.realtime._hub import RealtimeHub

require("uvicorn", "server")

import uvicorn  # noqa: E402 - after the check that names the extra


class RealtimeServer(uvicorn.Server):
    """A `uvicorn.Server` that closes `hubs` (1001 to every client) when it shuts down.

    Args:
        config: The `uvicorn.Config`.
        hubs: The hubs of the app it serves.
        close_timeout: Seconds the hubs get to close their connections.
    """

    def __init__(
        self, config: Any, *, hubs: Sequence[RealtimeHub], close_timeout: float = 5.0
    ) -> None:
        super().__init__(config)
        self.hubs = tuple(hubs)
        self.close_timeout = close_timeout

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Close the hubs' connections with 1001, then shut down as uvicorn does."""
        for hub in self.hubs:
            await hub.close(grace=self.close_timeout)
        await super().shutdown(sockets)
