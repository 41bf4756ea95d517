"""A statement's forms in the lock table (`migration_gate.sql.locks`), read from its words.

The lock rules see a statement as keys: keywords upper-cased, punctuation as it is, quoted names
and strings as `"\\0name"` / `"\\0string"` (the rules' `View.keys`). `forms_of(keys)` names the
rows of the lock table that apply: one per ALTER TABLE action, at most one otherwise, none for
a statement the table does not cover. The objects themselves (which table is `TABLE`, which is
`REFERENCED`) are the rule's to read from the same words.
"""

from __future__ import annotations

from collections.abc import Sequence

from migration_gate.sql.tokens import NAME, PUNCT, STRING, WORD, regex_words

_CONSTRAINTS = ("CHECK", "FOREIGN", "UNIQUE", "PRIMARY", "EXCLUDE")


def keys_of(text: str) -> tuple[str, ...]:
    """The keys of a statement's text, as the rules' `View` has them."""
    kinds = {NAME: "\0name", STRING: "\0string"}
    return tuple(w.text if w.kind in (WORD, PUNCT) else kinds.get(w.kind, "\0" + w.kind)
                 for w in regex_words(text))


def forms_of(keys: Sequence[str]) -> tuple[str, ...]:
    """The lock-table forms of the statement with these keys (see the module's docstring)."""
    keys = tuple(keys)
    if keys[:2] == ("ALTER", "TABLE"):
        return _alter_table(keys)
    found = _other(keys)
    return (found,) if found else ()


def _skip(keys: tuple[str, ...], index: int, *words: str) -> int:
    return index + len(words) if keys[index : index + len(words)] == words else index


def _name_end(keys: tuple[str, ...], index: int) -> int:
    """The index after a possibly qualified name at `index`."""
    index += 1
    while keys[index : index + 1] == (".",):
        index += 2
    return index


def _alter_table(keys: tuple[str, ...]) -> tuple[str, ...]:
    index = _skip(keys, 2, "IF", "EXISTS")
    index = _skip(keys, index, "ONLY")
    index = _skip(keys, _name_end(keys, index), "*")
    forms = []
    depth, start = 0, index
    for position in range(index, len(keys) + 1):
        key = keys[position] if position < len(keys) else ","
        depth += 1 if key == "(" else -1 if key == ")" else 0
        if key == "," and depth == 0:
            form = _action(keys[start:position])
            if form:
                forms.append("ALTER TABLE " + form)
            start = position + 1
    return tuple(forms)


def action_form(action: Sequence[str]) -> str | None:
    """The lock-table form of one ALTER TABLE action's keys (None: the table has no row)."""
    form = _action(tuple(action))
    return "ALTER TABLE " + form if form else None


def _action(action: tuple[str, ...]) -> str | None:
    verb = action[:1]
    if verb == ("ADD",):
        return _add(action)
    if verb == ("DROP",):
        return "DROP CONSTRAINT" if action[1:2] == ("CONSTRAINT",) else "DROP COLUMN"
    if verb == ("ALTER",):
        return _alter_column(action)
    if verb == ("VALIDATE",):  # the words do not say CHECK or FOREIGN KEY: the wider row
        return "VALIDATE CONSTRAINT FOREIGN KEY"
    if verb == ("RENAME",):
        if action[1:2] == ("TO",):
            return "RENAME TO"
        return "RENAME CONSTRAINT" if action[1:2] == ("CONSTRAINT",) else "RENAME COLUMN"
    if verb in (("ENABLE",), ("DISABLE",)) and "TRIGGER" in action[1:3]:
        return "ENABLE TRIGGER"
    if verb in (("ATTACH",), ("DETACH",)) and action[1:2] == ("PARTITION",):
        return None if "CONCURRENTLY" in action else f"{verb[0]} PARTITION"
    if action[:2] == ("SET", "("):
        return "SET STORAGE PARAMETER"
    return None


def _add(action: tuple[str, ...]) -> str:
    index = 1
    if action[1:2] == ("CONSTRAINT",):
        index = 3
    kind = action[index] if index < len(action) else ""
    if action[1:2] == ("COLUMN",) or kind not in _CONSTRAINTS:
        return "ADD COLUMN"
    not_valid = " NOT VALID" if action[-2:] == ("NOT", "VALID") else ""
    if kind == "CHECK":
        return "ADD CONSTRAINT CHECK" + not_valid
    if kind == "FOREIGN":
        return "ADD CONSTRAINT FOREIGN KEY" + not_valid
    if kind == "UNIQUE" and "USING" in action and "INDEX" in action:
        return "ADD CONSTRAINT UNIQUE USING INDEX"
    return {"UNIQUE": "ADD CONSTRAINT UNIQUE", "PRIMARY": "ADD CONSTRAINT PRIMARY KEY",
            "EXCLUDE": "ADD CONSTRAINT EXCLUDE"}[kind]


def _alter_column(action: tuple[str, ...]) -> str | None:
    index = _skip(action, 1, "COLUMN") + 1  # past the column's name
    rest = action[index:]
    if rest[:1] == ("TYPE",) or rest[:3] == ("SET", "DATA", "TYPE"):
        return "ALTER COLUMN TYPE"
    for words, form in ((("SET", "NOT", "NULL"), "ALTER COLUMN SET NOT NULL"),
                        (("DROP", "NOT", "NULL"), "ALTER COLUMN DROP NOT NULL"),
                        (("SET", "DEFAULT"), "ALTER COLUMN SET DEFAULT"),
                        (("DROP", "DEFAULT"), "ALTER COLUMN SET DEFAULT"),
                        (("SET", "STATISTICS"), "ALTER COLUMN SET STATISTICS"),
                        (("SET", "("), "SET STORAGE PARAMETER")):
        if rest[: len(words)] == words:
            return form
    return None


def _other(keys: tuple[str, ...]) -> str | None:
    index = _skip(keys, 1, "OR", "REPLACE")
    head = keys[0] if keys else ""
    if head == "CREATE":
        return _create(keys, index)
    second = keys[1] if len(keys) > 1 else ""
    if head in ("DROP", "ALTER") and second in ("INDEX", "TRIGGER", "VIEW", "TABLE",
                                                "SEQUENCE"):
        if "CONCURRENTLY" in keys[2:3] or (head, second) in (("ALTER", "INDEX"),
                                                             ("ALTER", "TRIGGER")):
            return None
        return {"SEQUENCE": "ALTER SEQUENCE"}.get(second, f"{head} {second}")
    if head == "REINDEX" and second in ("INDEX", "TABLE") and "CONCURRENTLY" not in keys:
        return f"REINDEX {second}"
    if keys[:3] == ("DROP", "MATERIALIZED", "VIEW"):
        return "DROP MATERIALIZED VIEW"
    if keys[:3] == ("REFRESH", "MATERIALIZED", "VIEW"):
        return "REFRESH MATERIALIZED VIEW" + (" CONCURRENTLY" if "CONCURRENTLY" in keys[3:4]
                                              else "")
    if head == "VACUUM" and "FULL" in keys[1:3]:
        return "VACUUM FULL"
    if keys[:3] in (("COMMENT", "ON", "TABLE"), ("COMMENT", "ON", "COLUMN")):
        return f"COMMENT ON {keys[2]}"
    if head in ("GRANT", "REVOKE") and "ON" in keys and not _on_other_object(keys):
        return f"{head} ON TABLE"
    return {"TRUNCATE": "TRUNCATE", "LOCK": "LOCK TABLE", "CLUSTER": "CLUSTER"}.get(head)


def _create(keys: tuple[str, ...], index: int) -> str | None:
    for word in ("TEMP", "TEMPORARY", "UNLOGGED", "UNIQUE", "CONSTRAINT"):
        index = _skip(keys, index, word)
    kind = keys[index] if index < len(keys) else ""
    replace = keys[1:3] == ("OR", "REPLACE")
    if kind == "INDEX":
        return "CREATE INDEX CONCURRENTLY" if "CONCURRENTLY" in keys[index + 1 : index + 2] \
            else "CREATE INDEX"
    if kind == "TABLE":
        return "CREATE TABLE REFERENCES" if "REFERENCES" in keys else None
    if kind == "VIEW":
        return "CREATE OR REPLACE VIEW" if replace else None
    if keys[index : index + 2] == ("MATERIALIZED", "VIEW"):
        return "CREATE MATERIALIZED VIEW"
    return {"TRIGGER": "CREATE TRIGGER", "RULE": "CREATE RULE", "POLICY": "CREATE POLICY"}.get(
        kind)


def _on_other_object(keys: tuple[str, ...]) -> bool:
    """GRANT/REVOKE ... ON SCHEMA|SEQUENCE|FUNCTION|ALL TABLES ...: not one table's lock."""
    on = keys.index("ON")
    return keys[on + 1 : on + 2] in (("SCHEMA",), ("SEQUENCE",), ("FUNCTION",), ("ALL",),
                                     ("DATABASE",), ("TYPE",), ("DOMAIN",), ("LANGUAGE",),
                                     ("PROCEDURE",), ("ROUTINE",), ("FOREIGN",),
                                     ("LARGE",), ("TABLESPACE",), ("PARAMETER",))
