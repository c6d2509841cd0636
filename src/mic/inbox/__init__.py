"""The inbox: exactly-once effects for event consumers on at-least-once delivery.

``bus.subscribe(spec, handler, group="billing", inbox=SqlInbox(storage))`` records each
processed event id in the same unit of work as the handler's writes; a redelivered event
is acknowledged without running the handler again. `InMemoryInbox` needs nothing;
`SqlInbox` needs the ``sql`` extra. See docs/events.md.
"""

from mic.inbox._base import DEFAULT_RETENTION, Inbox
from mic.inbox._memory import InMemoryInbox
from mic.inbox._sql import SqlInbox

__all__ = ["DEFAULT_RETENTION", "InMemoryInbox", "Inbox", "SqlInbox"]
