"""The same routes on Litestar: only the adapter call changes, the handler is identical."""

from litestar import Litestar

from examples.quickstart_fastapi import routes
from mic.litestar import build_litestar_router

app = Litestar(route_handlers=[build_litestar_router(routes=routes)])
