"""One plan for the versions of a branch's new migrations, which every hint of a run quotes.

A branch's migrations are written against each other: V9 uses the table V8 creates. Moving one
of them alone (V8 → V10 because main merged a V8) breaks the other, and hints computed rule by
rule contradict each other on a stale branch. So the new migrations keep their relative order
and move together, as one block, to the first versions nobody can hold: after the base's highest
(at the merge-base and at its tip), after every burned version, and after whatever else the
caller counts as taken (every remote-tracking branch with `--all-branches`).

Pure: no git, no file system. `duplicate-version`, `version-not-after-base`, `version-gap`,
`version-reused`, `next-version`, `new` and `renumber` all read the same `Plan`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Member:
    """One new migration of the branch: where it is and the version it has now."""

    path: str
    version: int


@dataclass(frozen=True)
class Move:
    """Where one member goes (`old == new` when it may stay)."""

    path: str
    old: int
    new: int


@dataclass(frozen=True)
class Plan:
    """The block's versions, in order, and the first version after it."""

    moves: tuple[Move, ...]
    floor: int  # the highest taken version: the block starts right after it
    next_free: int

    def version_for(self, path: str) -> int | None:
        for move in self.moves:
            if move.path == path:
                return move.new
        return None

    @property
    def changes(self) -> tuple[Move, ...]:
        """The moves that change a version."""
        return tuple(move for move in self.moves if move.old != move.new)


def make_plan(members: Sequence[Member], taken: Iterable[int]) -> Plan:
    """The block after the highest taken version, members in (version, path) order.

    A block that already sits right after the highest taken version, without holes or
    duplicates, stays where it is: the plan is then the identity.
    """
    floor = max(taken, default=0)
    ordered = sorted(members, key=lambda m: (m.version, m.path))
    moves = tuple(Move(m.path, m.version, floor + 1 + i) for i, m in enumerate(ordered))
    return Plan(moves=moves, floor=floor, next_free=floor + 1 + len(moves))
