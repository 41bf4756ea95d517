"""Which lock each PostgreSQL statement form takes on which object: one table, one lookup.

The source is the PostgreSQL documentation, chapter 13.3 "Explicit Locking" (table-level lock
modes and the commands that take them) and each command's reference page; every row is
checked by `tests/test_sql_locks.py`, which runs the form on a real PostgreSQL inside a
transaction and compares the backend's own relation locks in `pg_locks` with the row, mode
for mode. A row lists every mode the backend holds on each object, the weak ones too (the
scan that validates a foreign key reads both tables under ACCESS SHARE): that is what
"matches PostgreSQL exactly" means, and what a rule needs to know what conflicts with what.

The lock rules find the form from a statement's words (`forms_of`) and the objects from its
names (the altered table, the table after REFERENCES, ...), then ask `locks_for(form)` which
role gets which mode. `docs/locks.md` is this table in prose (`render_markdown`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

#: The PostgreSQL major version the table was checked against by tests/test_sql_locks.py.
VERIFIED_ON = 15

#: The schema the examples run on (in the test, and in docs/locks.md).
EXAMPLE_SCHEMA = """\
CREATE TABLE ref (id int PRIMARY KEY);
CREATE TABLE t (id int PRIMARY KEY, a int, b text, c text, ref_id int);
CREATE INDEX t_a_idx ON t (a);
CREATE UNIQUE INDEX t_b_uidx ON t (b);
CREATE VIEW v AS SELECT id, a FROM t;
CREATE MATERIALIZED VIEW mv AS SELECT id, a FROM t;
CREATE UNIQUE INDEX mv_id_idx ON mv (id);
CREATE SEQUENCE s;
CREATE TABLE p (id int, k int) PARTITION BY RANGE (k);
CREATE TABLE p1 PARTITION OF p FOR VALUES FROM (0) TO (10);
CREATE TABLE p2 (id int, k int);
CREATE INDEX p2_k_idx ON p2 (k);
ALTER TABLE t ADD CONSTRAINT t_a_check CHECK (a > 0) NOT VALID;
ALTER TABLE t ADD CONSTRAINT t_ref_fk FOREIGN KEY (ref_id) REFERENCES ref (id) NOT VALID;
CREATE FUNCTION trg() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NEW; END$$;
CREATE TRIGGER t_trg BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION trg();
CREATE ROLE reader;
"""


class Mode(Enum):
    """A table-level lock mode (docs 13.3.1), weakest first; the value is `pg_locks.mode`."""

    ACCESS_SHARE = "AccessShareLock"
    ROW_SHARE = "RowShareLock"
    ROW_EXCLUSIVE = "RowExclusiveLock"
    SHARE_UPDATE_EXCLUSIVE = "ShareUpdateExclusiveLock"
    SHARE = "ShareLock"
    SHARE_ROW_EXCLUSIVE = "ShareRowExclusiveLock"
    EXCLUSIVE = "ExclusiveLock"
    ACCESS_EXCLUSIVE = "AccessExclusiveLock"

    @property
    def words(self) -> str:
        """`ACCESS EXCLUSIVE`, as the documentation and `LOCK TABLE ... IN ... MODE` write it."""
        return self.name.replace("_", " ")

    @property
    def rank(self) -> int:
        return _ORDER.index(self)

    def conflicts_with(self, other: Mode) -> bool:
        """Whether a transaction holding `self` blocks one asking for `other` (table 13.2)."""
        return other in _CONFLICTS[self]

    @property
    def blocks_writes(self) -> bool:
        """Whether INSERT, UPDATE and DELETE (ROW EXCLUSIVE) wait for it."""
        return self.conflicts_with(Mode.ROW_EXCLUSIVE)

    @property
    def blocks_reads(self) -> bool:
        """Whether a plain SELECT (ACCESS SHARE) waits for it."""
        return self.conflicts_with(Mode.ACCESS_SHARE)


_ORDER = tuple(Mode)
_A, _RS, _RX, _SUX, _S, _SRX, _X, _AX = _ORDER
#: Table 13.2 "Conflicting Lock Modes".
_CONFLICTS: dict[Mode, frozenset[Mode]] = {
    _A: frozenset({_AX}),
    _RS: frozenset({_X, _AX}),
    _RX: frozenset({_S, _SRX, _X, _AX}),
    _SUX: frozenset({_SUX, _S, _SRX, _X, _AX}),
    _S: frozenset({_RX, _SUX, _SRX, _X, _AX}),
    _SRX: frozenset({_RX, _SUX, _S, _SRX, _X, _AX}),
    _X: frozenset({_RS, _RX, _SUX, _S, _SRX, _X, _AX}),
    _AX: frozenset(_ORDER),
}


class Role(Enum):
    """Which object of the statement a lock is on (the value says it in words)."""

    TABLE = "the table the statement acts on (ALTER TABLE's, TRUNCATE's, a trigger's, rule's "\
        "or policy's table, the table of CREATE INDEX)"
    TABLE_INDEXES = "every index of that table"
    REFERENCED = "the table a FOREIGN KEY or REFERENCES names"
    REFERENCED_INDEXES = "every index of the referenced table"
    INDEX = "the index the statement names (DROP INDEX, REINDEX INDEX, USING INDEX)"
    INDEX_TABLE = "the table of that index"
    VIEW = "the view the statement names"
    MATVIEW = "the materialized view the statement names"
    MATVIEW_INDEXES = "every index of the materialized view"
    QUERY_TABLES = "each table the view's query reads"
    QUERY_INDEXES = "every index of those tables"
    PARTITION = "the partition attached or detached"
    SEQUENCE = "the sequence the statement names"
    CREATED = "the relation the statement creates (table, index, view)"
    CREATED_INDEXES = "the indexes created with it (a PRIMARY KEY's, a UNIQUE constraint's)"


@dataclass(frozen=True)
class LockTaken:
    """One lock: which object, in which mode."""

    role: Role
    mode: Mode


@dataclass(frozen=True)
class Form:
    """A statement form, the locks it takes, and an example on the schema of the docs."""

    name: str
    locks: tuple[LockTaken, ...]
    example: str
    in_transaction: bool = True  # False: refinery cannot run it (observed while it waits)
    note: str = ""


def _locks(*pairs: tuple[Role, tuple[Mode, ...]]) -> tuple[LockTaken, ...]:
    return tuple(LockTaken(role, mode) for role, modes in pairs for mode in modes)


R = Role
AX, X, SRX, S, SUX, RX, RS, A = (Mode.ACCESS_EXCLUSIVE, Mode.EXCLUSIVE,
                                 Mode.SHARE_ROW_EXCLUSIVE, Mode.SHARE,
                                 Mode.SHARE_UPDATE_EXCLUSIVE, Mode.ROW_EXCLUSIVE,
                                 Mode.ROW_SHARE, Mode.ACCESS_SHARE)
_FK_SCAN = ((R.TABLE, (SRX, A)), (R.TABLE_INDEXES, (A,)), (R.REFERENCED, (SRX, RS, A)),
            (R.REFERENCED_INDEXES, (A,)))

FORMS: tuple[Form, ...] = (
    # --- ALTER TABLE: ACCESS EXCLUSIVE unless noted (docs, ALTER TABLE, "Notes") ---------------
    Form("ALTER TABLE ADD COLUMN", _locks((R.TABLE, (AX,))),
         "ALTER TABLE t ADD COLUMN d int"),
    Form("ALTER TABLE DROP COLUMN", _locks((R.TABLE, (AX,))), "ALTER TABLE t DROP COLUMN c",
         note="an index or a foreign key on the column is dropped with it, under ACCESS "
         "EXCLUSIVE (the referenced table's too)"),
    Form("ALTER TABLE ALTER COLUMN TYPE", _locks((R.TABLE, (AX, S)), (R.TABLE_INDEXES, (AX,))),
         "ALTER TABLE t ALTER COLUMN a TYPE bigint",
         note="rewrites the table and rebuilds its indexes unless the change is binary "
         "compatible"),
    Form("ALTER TABLE ALTER COLUMN SET NOT NULL", _locks((R.TABLE, (AX,))),
         "ALTER TABLE t ALTER COLUMN a SET NOT NULL", note="scans the whole table"),
    Form("ALTER TABLE ALTER COLUMN DROP NOT NULL", _locks((R.TABLE, (AX,))),
         "ALTER TABLE t ALTER COLUMN a DROP NOT NULL"),
    Form("ALTER TABLE ALTER COLUMN SET DEFAULT", _locks((R.TABLE, (AX,))),
         "ALTER TABLE t ALTER COLUMN a SET DEFAULT 0"),
    Form("ALTER TABLE ALTER COLUMN SET STATISTICS", _locks((R.TABLE, (SUX,))),
         "ALTER TABLE t ALTER COLUMN a SET STATISTICS 100"),
    Form("ALTER TABLE SET STORAGE PARAMETER", _locks((R.TABLE, (SUX,))),
         "ALTER TABLE t SET (fillfactor = 70)",
         note="SHARE UPDATE EXCLUSIVE for fillfactor, autovacuum and planner parameters"),
    Form("ALTER TABLE ADD CONSTRAINT CHECK", _locks((R.TABLE, (AX,))),
         "ALTER TABLE t ADD CONSTRAINT c1 CHECK (a > -1)", note="scans the whole table"),
    Form("ALTER TABLE ADD CONSTRAINT CHECK NOT VALID", _locks((R.TABLE, (AX,))),
         "ALTER TABLE t ADD CONSTRAINT c1 CHECK (a > -1) NOT VALID",
         note="no scan: the lock is brief"),
    Form("ALTER TABLE ADD CONSTRAINT FOREIGN KEY", _locks(*_FK_SCAN),
         "ALTER TABLE t ADD CONSTRAINT c2 FOREIGN KEY (ref_id) REFERENCES ref (id)",
         note="validates every row with a query that reads both tables"),
    Form("ALTER TABLE ADD CONSTRAINT FOREIGN KEY NOT VALID",
         _locks((R.TABLE, (SRX, A)), (R.REFERENCED, (SRX, A))),
         "ALTER TABLE t ADD CONSTRAINT c2 FOREIGN KEY (ref_id) REFERENCES ref (id) NOT VALID"),
    Form("ALTER TABLE ADD CONSTRAINT UNIQUE",
         _locks((R.TABLE, (AX, S)), (R.CREATED_INDEXES, (AX,))),
         "ALTER TABLE t ADD CONSTRAINT c3 UNIQUE (a)", note="builds the index"),
    Form("ALTER TABLE ADD CONSTRAINT UNIQUE USING INDEX",
         _locks((R.TABLE, (AX,)), (R.INDEX, (SUX, A))),
         "ALTER TABLE t ADD CONSTRAINT c3 UNIQUE USING INDEX t_b_uidx",
         note="the existing index becomes the constraint's (and takes its name)"),
    Form("ALTER TABLE ADD CONSTRAINT PRIMARY KEY",
         _locks((R.TABLE, (AX, S)), (R.CREATED_INDEXES, (AX,))),
         "ALTER TABLE p2 ADD CONSTRAINT p2_pkey PRIMARY KEY (id)",
         note="builds the index, and SET NOT NULL scans the table"),
    Form("ALTER TABLE ADD CONSTRAINT EXCLUDE",
         _locks((R.TABLE, (AX, S)), (R.CREATED_INDEXES, (AX,))),
         "ALTER TABLE t ADD CONSTRAINT c5 EXCLUDE USING btree (a WITH =)"),
    Form("ALTER TABLE DROP CONSTRAINT", _locks((R.TABLE, (AX,))),
         "ALTER TABLE t DROP CONSTRAINT t_a_check"),
    Form("ALTER TABLE VALIDATE CONSTRAINT CHECK", _locks((R.TABLE, (SUX,))),
         "ALTER TABLE t VALIDATE CONSTRAINT t_a_check",
         note="scans the table; reads and writes go on"),
    Form("ALTER TABLE VALIDATE CONSTRAINT FOREIGN KEY",
         _locks((R.TABLE, (SUX, A)), (R.TABLE_INDEXES, (A,)), (R.REFERENCED, (RS, A)),
                (R.REFERENCED_INDEXES, (A,))),
         "ALTER TABLE t VALIDATE CONSTRAINT t_ref_fk",
         note="scans the table; reads and writes go on"),
    Form("ALTER TABLE RENAME TO", _locks((R.TABLE, (AX,))), "ALTER TABLE t RENAME TO t2"),
    Form("ALTER TABLE RENAME COLUMN", _locks((R.TABLE, (AX,))),
         "ALTER TABLE t RENAME COLUMN a TO a2"),
    Form("ALTER TABLE RENAME CONSTRAINT", _locks((R.TABLE, (AX,))),
         "ALTER TABLE t RENAME CONSTRAINT t_a_check TO t_a_positive"),
    Form("ALTER TABLE ENABLE TRIGGER", _locks((R.TABLE, (SRX,))),
         "ALTER TABLE t DISABLE TRIGGER t_trg", note="ENABLE and DISABLE TRIGGER alike"),
    Form("ALTER TABLE ATTACH PARTITION",
         _locks((R.TABLE, (SUX,)), (R.PARTITION, (AX,))),
         "ALTER TABLE p ATTACH PARTITION p2 FOR VALUES FROM (10) TO (20)",
         note="scans the partition to check its rows (unless a CHECK constraint proves "
         "them), and takes ACCESS EXCLUSIVE on a default partition too"),
    Form("ALTER TABLE DETACH PARTITION", _locks((R.TABLE, (AX,)), (R.PARTITION, (AX,))),
         "ALTER TABLE p DETACH PARTITION p1",
         note="DETACH ... CONCURRENTLY takes SHARE UPDATE EXCLUSIVE but cannot run in a "
         "transaction"),
    # --- indexes -----------------------------------------------------------------------------
    Form("CREATE INDEX", _locks((R.TABLE, (S,)), (R.CREATED, (AX,))),
         "CREATE INDEX t_b_idx ON t (b)", note="blocks writes for the whole build"),
    Form("CREATE INDEX CONCURRENTLY", _locks((R.TABLE, (SUX,)),),
         "CREATE INDEX CONCURRENTLY t_b_idx ON t (b)", in_transaction=False,
         note="cannot run inside a transaction (refinery: 25001); observed while it waits for "
         "older transactions"),
    Form("DROP INDEX", _locks((R.INDEX_TABLE, (AX,)), (R.INDEX, (AX,))),
         "DROP INDEX t_a_idx"),
    Form("REINDEX INDEX", _locks((R.INDEX_TABLE, (S,)), (R.INDEX, (AX,))),
         "REINDEX INDEX t_a_idx"),
    Form("REINDEX TABLE", _locks((R.TABLE, (S,)), (R.TABLE_INDEXES, (AX,))), "REINDEX TABLE t"),
    # --- tables, views, triggers, rules, policies --------------------------------------------
    Form("CREATE TABLE REFERENCES",
         _locks((R.REFERENCED, (SRX, A)), (R.CREATED, (AX, SRX, S, A)),
                (R.CREATED_INDEXES, (AX,))),
         "CREATE TABLE child (id int PRIMARY KEY, ref_id int REFERENCES ref (id))",
         note="the referenced table gets SHARE ROW EXCLUSIVE: writes to it wait"),
    Form("CREATE TRIGGER", _locks((R.TABLE, (SRX,))),
         "CREATE TRIGGER t_audit AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION trg()"),
    Form("DROP TRIGGER", _locks((R.TABLE, (AX, A))), "DROP TRIGGER t_trg ON t"),
    Form("CREATE OR REPLACE VIEW", _locks((R.VIEW, (AX,)), (R.QUERY_TABLES, (A,))),
         "CREATE OR REPLACE VIEW v AS SELECT id, a, b FROM t"),
    Form("DROP VIEW", _locks((R.VIEW, (AX,))), "DROP VIEW v"),
    Form("ALTER VIEW", _locks((R.VIEW, (AX,))), "ALTER VIEW v RENAME TO v2",
         note="RENAME, ALTER COLUMN ... SET DEFAULT, OWNER TO and SET alike"),
    Form("CREATE MATERIALIZED VIEW",
         _locks((R.CREATED, (AX,)), (R.QUERY_TABLES, (A,)), (R.QUERY_INDEXES, (A,))),
         "CREATE MATERIALIZED VIEW mv2 AS SELECT id FROM t"),
    Form("DROP MATERIALIZED VIEW", _locks((R.MATVIEW, (AX,)), (R.MATVIEW_INDEXES, (AX,))),
         "DROP MATERIALIZED VIEW mv", note="blocks every read of the view"),
    Form("REFRESH MATERIALIZED VIEW",
         _locks((R.MATVIEW, (AX, X, S, A)), (R.MATVIEW_INDEXES, (AX,)),
                (R.QUERY_TABLES, (A,)), (R.QUERY_INDEXES, (A,))),
         "REFRESH MATERIALIZED VIEW mv", note="blocks every read of the view"),
    Form("REFRESH MATERIALIZED VIEW CONCURRENTLY",
         _locks((R.MATVIEW, (X, RX, A)), (R.MATVIEW_INDEXES, (RX, A)),
                (R.QUERY_TABLES, (A,)), (R.QUERY_INDEXES, (A,))),
         "REFRESH MATERIALIZED VIEW CONCURRENTLY mv",
         note="reads go on; needs a unique index; runs inside a transaction"),
    Form("TRUNCATE", _locks((R.TABLE, (AX, S)), (R.TABLE_INDEXES, (AX,))), "TRUNCATE p2",
         note="CASCADE: the same on every referencing table"),
    Form("DROP TABLE", _locks((R.TABLE, (AX,)), (R.TABLE_INDEXES, (AX,))), "DROP TABLE p2",
         note="CASCADE: ACCESS EXCLUSIVE on every table whose foreign key it drops"),
    Form("LOCK TABLE", _locks((R.TABLE, (AX,))), "LOCK TABLE t",
         note="IN <mode> MODE takes that mode (`lock_table_mode`)"),
    Form("VACUUM FULL", _locks((R.TABLE, (AX,))), "VACUUM FULL t", in_transaction=False,
         note="cannot run inside a transaction (refinery: 25001); observed while it waits for "
         "its lock, before it rebuilds the table and its indexes under it"),
    Form("CLUSTER", _locks((R.TABLE, (AX, S)), (R.TABLE_INDEXES, (AX, A))),
         "CLUSTER t USING t_pkey", note="rewrites the table and its indexes"),
    Form("COMMENT ON TABLE", _locks((R.TABLE, (SUX,))), "COMMENT ON TABLE t IS 'x'"),
    Form("COMMENT ON COLUMN", _locks((R.TABLE, (SUX,))), "COMMENT ON COLUMN t.a IS 'x'"),
    Form("GRANT ON TABLE", (), "GRANT SELECT ON t TO reader",
         note="no lock on the table (only its catalog row is updated)"),
    Form("REVOKE ON TABLE", (), "REVOKE SELECT ON t FROM reader",
         note="no lock on the table (only its catalog row is updated)"),
    Form("CREATE RULE", _locks((R.TABLE, (AX,))),
         "CREATE RULE t_ignore AS ON INSERT TO t DO INSTEAD NOTHING"),
    Form("CREATE POLICY", _locks((R.TABLE, (AX,))), "CREATE POLICY t_all ON t USING (true)"),
    Form("ALTER SEQUENCE", _locks((R.SEQUENCE, (SRX, RX))), "ALTER SEQUENCE s RESTART WITH 10",
         note="nextval() in other sessions waits"),
)
BY_NAME: dict[str, Form] = {form.name: form for form in FORMS}


def locks_for(form: str) -> tuple[LockTaken, ...]:
    """The locks a statement form takes (`KeyError` for a form the table does not know)."""
    return BY_NAME[form].locks


def strongest(locks: Sequence[LockTaken], role: Role | None = None) -> Mode | None:
    """The strongest mode among `locks` (on `role` only, if given), or None."""
    modes = [lock.mode for lock in locks if role is None or lock.role is role]
    return max(modes, key=lambda mode: mode.rank) if modes else None


def lock_table_mode(words: Sequence[str]) -> Mode | None:
    """The mode of `LOCK TABLE ... IN <words> MODE` (`["SHARE", "ROW", "EXCLUSIVE"]`)."""
    wanted = "_".join(word.upper() for word in words)
    return next((mode for mode in Mode if mode.name == wanted), None)


def render_markdown() -> str:
    """docs/locks.md: the table in prose (the test checks the file is this text)."""
    lines = [
        "# Which lock each statement takes (PostgreSQL)", "",
        "Generated from `migration_gate/sql/locks.py` (`render_markdown`); do not edit by hand.",
        "Source: the PostgreSQL documentation, 13.3 \"Explicit Locking\" (table-level lock",
        "modes, table 13.2 of conflicts) and the reference page of each command. Every row was",
        f"checked on PostgreSQL {VERIFIED_ON} by `tests/test_sql_locks.py`: the form runs on the",
        "schema below inside a transaction, and the backend's relation locks in `pg_locks`",
        "must be exactly the row's, mode for mode (the weak ones from internal scans too).", "",
        "## Modes (weakest first) and what they block", "",
        "| mode | blocks writes | blocks reads | conflicts with |", "|---|---|---|---|",
    ]
    for mode in Mode:
        conflicts = ", ".join(m.words for m in Mode if mode.conflicts_with(m))
        lines.append(f"| {mode.words} | {_yes(mode.blocks_writes)} | "
                     f"{_yes(mode.blocks_reads)} | {conflicts} |")
    lines += ["", "## Objects", "", "| role | object |", "|---|---|"]
    lines += [f"| `{role.name}` | {role.value} |" for role in Role]
    lines += ["", "## Forms", "", "| form | locks | example | note |", "|---|---|---|---|"]
    for form in FORMS:
        taken = "; ".join(
            f"`{role.name}`: " + ", ".join(m.words for m in _modes(form, role))
            for role in Role if _modes(form, role)) or "none"
        note = form.note + (" (not in a transaction)" if not form.in_transaction else "")
        lines.append(f"| {form.name} | {taken} | `{form.example}` | {note} |")
    lines += ["", "## The schema of the examples", "", "```sql", EXAMPLE_SCHEMA.rstrip(), "```",
              ""]
    return "\n".join(lines)


def _modes(form: Form, role: Role) -> list[Mode]:
    return sorted({lock.mode for lock in form.locks if lock.role is role},
                  key=lambda mode: -mode.rank)


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"
