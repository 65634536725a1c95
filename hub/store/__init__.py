"""All SQL of the hub: groups, invites, members, contributions, weekly cells and effects.

Every method runs in its own transaction on the engine (SQLite or PostgreSQL, :mod:`hub.db`).
Time comes from an injected ``clock`` (Unix seconds), so tests can move through weeks at once.
What may be released is decided by :mod:`hub.privacy`; this package only applies it.

One module per job, joined in :class:`HubStore`:

``base``           the engine and clock, :class:`Member`, :func:`hash_secret`.
``groups``         groups and invite codes.
``members``        joining, member tokens, leaving (and deleting).
``contributions``  ingest: one day or a group commit of several.
``sealing``        closed weeks computed once over their frozen rosters.
``summaries``      a group's weekly summary.
``interventions``  T0/T1 studies and their effects.
"""

from __future__ import annotations

from hub.store.base import Clock, Member, hash_secret
from hub.store.contributions import ContributionStore
from hub.store.groups import GroupStore
from hub.store.interventions import MAX_STUDY_WEEKS, InterventionStore
from hub.store.sealing import SEAL_WEEKS_PER_QUERY
from hub.store.summaries import MAX_SUMMARY_WEEKS, SummaryStore

__all__ = [
    "MAX_STUDY_WEEKS",
    "MAX_SUMMARY_WEEKS",
    "SEAL_WEEKS_PER_QUERY",
    "Clock",
    "HubStore",
    "Member",
    "hash_secret",
]


class HubStore(GroupStore, ContributionStore, SummaryStore, InterventionStore):
    """The hub's data, over one SQLAlchemy engine."""
