"""Test helpers shared by the test modules."""

from __future__ import annotations

from typing import Any

import httpx


def client_for(app: Any) -> httpx.AsyncClient:
    """An in-process client for the ASGI `app` (no network, no server).

    `app` is `Any` because frameworks type their ASGI signature more precisely than httpx.
    """
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")
