"""An outbox dispatcher process for the fault run: it hangs mid-batch until it is killed.

Run as ``python -m tests.inbox.fault_dispatcher <pg url> <schema> <table> <nats url>
<stream> <prefix> <hang after>``: it publishes `hang after` events of its first batch to
NATS JetStream, prints ``HUNG`` and waits, holding the batch's row locks, for SIGKILL.
"""

from __future__ import annotations

import asyncio
import sys

from mic.datastorage import create_sql_engine
from mic.eventbus import Event, NATSEventBus
from mic.outbox import DispatcherOptions, OutboxDispatcher, SqlOutboxStore


class HangingBus(NATSEventBus):
    """Publishes for real, then hangs forever inside the n-th publish."""

    hang_after = 0
    published = 0

    async def publish(self, event: Event) -> None:
        if self.published == self.hang_after:
            sys.stdout.write("HUNG\n")
            sys.stdout.flush()
            await asyncio.Event().wait()
        await super().publish(event)
        self.published += 1


async def main(arguments: list[str]) -> None:
    url, schema, table, nats_url, stream, prefix, hang_after = arguments
    engine = create_sql_engine(url).execution_options(schema_translate_map={None: schema})
    store = SqlOutboxStore(engine, table_name=table)
    import nats

    client = await nats.connect(nats_url)
    bus = HangingBus(client, stream=stream, subject_prefix=prefix, duplicate_window=1.0)
    bus.hang_after = int(hang_after)
    dispatcher = OutboxDispatcher(store, bus, options=DispatcherOptions(batch_size=50))
    await dispatcher.run_once()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
