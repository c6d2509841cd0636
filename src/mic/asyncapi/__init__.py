"""AsyncAPI 3.0 documents built from in-code contracts, with no broker or framework.

Event specs (`mic.eventbus`) and WebSocket routes (`mic.realtime`) describe themselves as
`AsyncApiChannel` and `AsyncApiOperation` values; `build_asyncapi` turns any mix of them into
one document, the way `mic.http.build_openapi` does for HTTP routes.
"""

from mic.asyncapi._document import (
    ASYNCAPI_VERSION,
    AsyncApiChannel,
    AsyncApiError,
    AsyncApiMessage,
    AsyncApiOperation,
    AsyncApiServer,
    build_asyncapi,
    render_asyncapi,
)

__all__ = [
    "ASYNCAPI_VERSION",
    "AsyncApiChannel",
    "AsyncApiError",
    "AsyncApiMessage",
    "AsyncApiOperation",
    "AsyncApiServer",
    "build_asyncapi",
    "render_asyncapi",
]
