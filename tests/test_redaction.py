"""Passwords are never printed: in `postgres://user:PW@host`, `?password=PW`, libpq's
`password=PW` and from `.env`, through every path that shows a URL or a driver's error. A
property test over generated passwords (the real libpq and PyMySQL errors included), and the
real command line against a real PostgreSQL."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from migration_gate.diagnostics import GateError
from migration_gate.ephemeral import server
from migration_gate.redaction import MASK, MIN_LITERAL, redact
from tests.conftest import make_repo, one_line_error, run_gate, seed_migrations
from tests.pgserver_fixture import gate_env

NOWHERE = "/nonexistent-migration-gate-socket"


def libpq_quoted(secret: str) -> str:
    return "'" + secret.replace("\\", "\\\\").replace("'", "\\'") + "'"


#: Each way a password is written, as a function of the password.
FORMS: dict[str, Callable[[str], str]] = {
    "userinfo": lambda pw: f"postgresql://app:{quote(pw, safe='')}@/shop?host={NOWHERE}",
    "query": lambda pw: f"postgresql://app@/shop?host={NOWHERE}&password={quote(pw, safe='')}",
    "query-first": lambda pw: f"postgres://app@/shop?password={quote(pw, safe='')}"
                              f"&host={NOWHERE}",
    "keyword": lambda pw: f"host={NOWHERE} password={libpq_quoted(pw)} dbname=shop",
    "mysql": lambda pw: f"mysql://root:{quote(pw, safe='')}@127.0.0.1:9/app",
}
#: Forms that are written with the password as typed (no escaping at all).
RAW_ALPHABET = st.characters(blacklist_categories=("Cs", "Cc", "Z"),
                             blacklist_characters="/?#@*&'\"\\")


def rendered(url: str) -> list[str]:
    """Every message the gate can print about `url`: the header of `status`, the errors of
    parsing it and of connecting with it (the real drivers' texts, through the gate)."""
    messages = [redact(url)]
    for attempt in (server.parse_url, server._pg_connect):
        try:
            attempt(url)
        except GateError as error:
            messages.append(str(error))
    if url.startswith("mysql:"):
        try:
            server._mysql_connect(url)
        except GateError as error:
            messages.append(str(error))
    return messages


#: A password no generated one is part of, to render the same messages around another secret.
OTHER_PASSWORD = "\u2603\u2603\u2603\u2603"

#: Printable passwords of any script, with spaces, quotes and URL punctuation; `*` is left out
#: because the mask itself is made of it.
passwords = st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="*"),
                    min_size=MIN_LITERAL, max_size=24)


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow],
          derandomize=True)
@given(password=passwords, form=st.sampled_from(sorted(FORMS)))
def test_no_generated_password_survives_in_any_rendered_message(password: str,
                                                                form: str) -> None:
    # a password that is a word of the message itself ("post" in "postgresql") proves nothing
    assume(password not in " ".join(rendered(FORMS[form](OTHER_PASSWORD))))
    url = FORMS[form](password)
    for message in rendered(url):
        assert password not in message, (form, message)
        assert quote(password, safe="") not in message, (form, message)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(password=st.text(RAW_ALPHABET, min_size=MIN_LITERAL, max_size=16))
def test_a_password_typed_unescaped_is_masked_even_where_the_driver_echoes_it(
    password: str,
) -> None:
    """libpq echoes a bad percent escape with the rest of the password (`p%ZZ...`)."""
    skeleton = f"postgresql://app:{OTHER_PASSWORD}%ZZ@/shop?host={NOWHERE}"
    assume(password not in " ".join(rendered(skeleton)))  # "post" is in "postgresql"
    url = f"postgresql://app:{password}%ZZ@/shop?host={NOWHERE}"
    for message in rendered(url):
        assert password not in message, message


@settings(max_examples=100, deadline=None)
@given(password=st.text(st.characters(blacklist_categories=("Cs", "Cc"),
                                      blacklist_characters="*"), min_size=1,
                        max_size=MIN_LITERAL - 1),
       form=st.sampled_from(["userinfo", "query", "query-first", "keyword", "mysql"]))
def test_short_passwords_are_masked_where_they_stand(password: str, form: str) -> None:
    """Too short to be blanked wherever they appear: masked in place, exactly."""
    url = FORMS[form](password)
    masked = FORMS[form]("\0").replace(quote("\0", safe=""), MASK).replace(
        libpq_quoted("\0"), MASK)
    assert redact(url) == masked


def test_shapes_and_sources() -> None:
    assert redact("postgres://app:s3cret@h/db") == "postgres://app:***@h/db"
    assert redact("postgres://app@h/db?sslmode=require&password=s3cret") == (
        "postgres://app@h/db?sslmode=require&password=***")
    assert redact("host=h password = 'a b\\'c' port=1") == "host=h password = *** port=1"
    assert redact("invalid percent-encoded token: \"p%ZZsecret\"",
                  "postgres://u:p%ZZsecret@h/db") == "invalid percent-encoded token: \"***\""
    assert redact("postgres://app@h/db: password authentication failed") == (
        "postgres://app@h/db: password authentication failed")
    assert redact("postgres://h:5432/db") == "postgres://h:5432/db"


# --- the command line -------------------------------------------------------------------------

SECRET = "Hunter2-s3cr3t"


def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "migrations").mkdir(parents=True)
    (root / "migrations" / "V1__a.sql").write_text("CREATE TABLE a (id int);\n")
    return root


def no_secret(*texts: str) -> None:
    for text in texts:
        assert SECRET not in text and quote(SECRET) not in text, text


def socket_url(cluster: Any, dbname: str, *, how: str) -> str:
    where = f"host={cluster.socket_dir}&port=5432"
    if how == "userinfo":
        return f"postgresql://postgres:{SECRET}@/{dbname}?{where}"
    return f"postgresql://postgres@/{dbname}?{where}&password={SECRET}"


@pytest.mark.slow
@pytest.mark.parametrize("how", ["userinfo", "query"])
def test_status_never_prints_the_password(tmp_path: Path, pg_cluster: Any, pg_dbname: str,
                                          how: str) -> None:
    url = socket_url(pg_cluster, pg_dbname, how=how)  # trust auth: it connects
    for fmt in ("text", "json"):
        done = run_gate("status", "--database-url", url, "--format", fmt, cwd=project(
            tmp_path / fmt))
        assert done.returncode == 0, done.stdout + done.stderr
        no_secret(done.stdout, done.stderr)
        shown = json.loads(done.stdout)["database"] if fmt == "json" else done.stdout
        assert MASK in shown


@pytest.mark.slow
def test_status_reads_dotenv_and_never_prints_its_password(tmp_path: Path, pg_cluster: Any,
                                                           pg_dbname: str) -> None:
    root = project(tmp_path)
    (root / ".env").write_text(
        f"DATABASE_URL={socket_url(pg_cluster, pg_dbname, how='query')}\n")
    done = run_gate("status", cwd=root, env={"DATABASE_URL": ""})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "password=***" in done.stdout
    no_secret(done.stdout, done.stderr)
    (root / ".env").write_text(f"DATABASE_URL=postgres://app:{SECRET}@/db?host={NOWHERE}\n")
    failed = run_gate("status", cwd=root, env={"DATABASE_URL": ""})
    one_line_error(failed, "cannot connect to postgres://app:***@")
    no_secret(failed.stdout, failed.stderr)


@pytest.mark.parametrize(("url", "needle"), [
    (f"host=db.internal password={SECRET} dbname=app", "unsupported database URL"),
    (f"postgresql://app:p%ZZ{SECRET}@/db?host={NOWHERE}", "invalid percent-encoded token"),
    (f"postgresql://app@/db?host={NOWHERE}&password={SECRET}", "cannot connect"),
    (f"postgresql://app@/db?password={SECRET}&bogus=1", "invalid URI query parameter"),
])
@pytest.mark.slow
@pytest.mark.parametrize("command", ["status", "verify"])
def test_errors_of_status_and_verify_never_print_the_password(
    tmp_path: Path, url: str, needle: str, command: str,
) -> None:
    repo = make_repo(tmp_path / "repo")
    seed_migrations(repo, 1)
    done = run_gate(command, "--database-url", url, cwd=repo.path)
    one_line_error(done, needle)
    no_secret(done.stdout, done.stderr)


@pytest.mark.slow
def test_the_automatic_replay_note_never_prints_the_password(tmp_path: Path,
                                                              gate_cache: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    seed_migrations(repo, 1)
    repo.write(".migration-gate.yaml",
               f"database-url: 'postgresql://app:{SECRET}@/db?host={NOWHERE}'\n")
    done = run_gate("check", "--format", "json", cwd=repo.path, env=gate_env(gate_cache))
    (skipped,) = [d["message"] for d in json.loads(done.stdout)["diagnostics"]
                  if d["rule"] == "replay-skipped"]
    assert re.search(r"replay was skipped: cannot connect to postgresql://app:\*\*\*@",
                     skipped), skipped
    no_secret(done.stdout, done.stderr)
