"""CQRS read models: small query-side structures kept up to date from events.

`Timeline` (a capped sorted set), `Counter`, `MembershipSet`, `Leaderboard` and
`UniqueCount` (HyperLogLog), each on Redis (``redis`` extra) and in memory; a
`ProjectionRunner` feeds them from event specs through an inbox and rebuilds them from
scratch. See docs/read-models.md.
"""

from mic.read_models._base import (
    Counter,
    Leaderboard,
    MembershipSet,
    ReadModel,
    Timeline,
    UniqueCount,
)
from mic.read_models._memory import (
    InMemoryCounter,
    InMemoryLeaderboard,
    InMemoryMembershipSet,
    InMemoryTimeline,
    InMemoryUniqueCount,
)
from mic.read_models._projection import Projection, ProjectionRunner, RebuildReport
from mic.read_models._redis import (
    RedisCounter,
    RedisLeaderboard,
    RedisMembershipSet,
    RedisTimeline,
    RedisUniqueCount,
)

__all__ = [
    "Counter",
    "InMemoryCounter",
    "InMemoryLeaderboard",
    "InMemoryMembershipSet",
    "InMemoryTimeline",
    "InMemoryUniqueCount",
    "Leaderboard",
    "MembershipSet",
    "Projection",
    "ProjectionRunner",
    "ReadModel",
    "RebuildReport",
    "RedisCounter",
    "RedisLeaderboard",
    "RedisMembershipSet",
    "RedisTimeline",
    "RedisUniqueCount",
    "Timeline",
    "UniqueCount",
]
