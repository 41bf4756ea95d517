"""One plan for the versions of a branch's new migrations, which every hint of a run quotes.

A branch's migrations are written against each other: V9 uses the table V8 creates. Moving one
of them alone (V8 → V10 because main merged a V8) breaks the other, and hints computed rule by
rule contradict each other on a stale branch. So the new migrations keep their relative order
and move together, as one block, to the first versions nobody can hold: after the base's highest
(at the merge-base and at its tip), after every burned version, and after whatever else the
caller counts as taken (every remote-tracking branch with `--all-branches`).

The versions are the runner's (`Runner.next_version`): refinery's integers keep their padding,
Flyway's integers count up, dotted versions bump their last part, timestamps take the clock.
Pure: no git, no file system, no clock (`now` is passed). `duplicate-version`,
`version-not-after-base`, `version-gap`, `version-reused`, `next-version`, `new` and `renumber`
all read the same `Plan`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from datetime import datetime

    from migration_gate.runners.model import Runner, Version


@dataclass(frozen=True)
class Member:
    """One new migration of the branch: where it is and the version it has now."""

    path: str
    version: Version


@dataclass(frozen=True)
class Move:
    """Where one member goes (`old == new` when it may stay)."""

    path: str
    old: Version
    new: Version


@dataclass(frozen=True)
class Plan:
    """The block's versions, in order, and the first version after it."""

    moves: tuple[Move, ...]
    floor: Version | None  # the highest taken version: the block starts right after it
    next_free: Version

    def version_for(self, path: str) -> Version | None:
        for move in self.moves:
            if move.path == path:
                return move.new
        return None

    @property
    def changes(self) -> tuple[Move, ...]:
        """The moves that change a version."""
        return tuple(move for move in self.moves if move.old != move.new)


def make_plan(members: Sequence[Member], taken: Iterable[Version], runner: Runner,
              now: datetime | None) -> Plan:
    """The block after the highest taken version, members in (version, path) order.

    A block already in place stays where it is (the plan is then the identity): each member
    above the one before it (the first above the highest taken version) and no further than the
    runner's next version after it. For integers that is "no hole, no duplicate"; a timestamp
    is always in place once above the floor, since the next one is the clock's.
    """
    floor = max(taken, default=None)
    ordered = sorted(members, key=lambda m: (m.version, m.path))
    if _in_place(ordered, floor, runner, now):
        moves = tuple(Move(m.path, m.version, m.version) for m in ordered)
    else:
        versions: list[Version] = []
        for _ in ordered:
            versions.append(_after(runner, versions[-1] if versions else floor, now))
        moves = tuple(Move(m.path, m.version, v) for m, v in zip(ordered, versions, strict=True))
    last = moves[-1].new if moves else floor
    return Plan(moves=moves, floor=floor, next_free=_after(runner, last, now))


def _after(runner: Runner, version: Version | None, now: datetime | None) -> Version:
    return runner.next_version([] if version is None else [version], now)


def _in_place(ordered: Sequence[Member], floor: Version | None, runner: Runner,
              now: datetime | None) -> bool:
    previous = floor
    for member in ordered:
        if previous is not None and member.version <= previous:
            return False
        if member.version > _after(runner, previous, now):
            return False
        previous = member.version
    return True
