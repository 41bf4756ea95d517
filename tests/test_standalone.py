"""The repository stands on its own: nothing reads or cites a file outside the checkout, and
every link into the documentation lands on a heading that exists.

A clone with nothing beside it must run its tests and its users must be able to open every
document the product cites; both broke once (a sibling `shared/` folder, a machine path, a
specification no user has), so these checks keep them from coming back.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from migration_gate.catalog import all_rules
from tests.conftest import CHECKOUT

#: What is searched: the package, the tests, the benchmarks and every document users read.
#: tests/data/sample holds third-party SQL, which is data, not ours to police; this file holds
#: the patterns and the examples that prove they match.
SEARCHED = ("migration_gate", "tests", "bench", "docs", "examples", "hooks", "README.md",
            "action.yml", ".pre-commit-hooks.yaml", "pyproject.toml")
SKIPPED = ("tests/data/sample/", "tests/test_standalone.py")
TEXT_SUFFIXES = {".py", ".md", ".yml", ".yaml", ".toml", ".sh", ".sql", ".json", ""}

#: Paths that only exist on some machine.
OUTSIDE_THE_CHECKOUT = {
    "a sibling folder": re.compile(r"\.\.[/\\]shared\b"),
    "the shared folder as a path part": re.compile(r"[\"'/]shared[\"'/]"),
    "a workspace path": re.compile(r"/work/"),
    "a home folder": re.compile(r"/home/|/Users/|/root/"),
    "a parent of the checkout": re.compile(r"parents\[[2-9]\]|ROOT\.parent\b"),
}

#: Specifications that exist only beside the project's own development checkout.
PRIVATE_DOCS = re.compile(r"\b(REFINERY|RULES|DESIGN)\.md\b")
#: Rewritten elsewhere (its rule documentation moves to docs/ anchors with that rewrite).
PRIVATE_DOCS_PENDING = ("migration_gate/sql/rules/",)


def searched_files() -> Iterator[tuple[str, str]]:
    for entry in SEARCHED:
        top = CHECKOUT / entry
        paths = [top] if top.is_file() else sorted(p for p in top.rglob("*") if p.is_file())
        for path in paths:
            rel = path.relative_to(CHECKOUT).as_posix()
            if rel.startswith(SKIPPED) or path.suffix not in TEXT_SUFFIXES:
                continue
            if "__pycache__" in rel:
                continue
            yield rel, path.read_text(encoding="utf-8", errors="replace")


def offending_lines(text: str, pattern: re.Pattern[str]) -> list[str]:
    return [line.strip() for line in text.splitlines() if pattern.search(line)]


def test_the_search_covers_the_package_and_the_tests() -> None:
    searched = {rel for rel, _ in searched_files()}
    assert "migration_gate/refinery.py" in searched and "tests/conftest.py" in searched
    assert "README.md" in searched and "docs/refinery.md" in searched
    assert not any(rel.startswith("tests/data/sample/") for rel in searched)


@pytest.mark.parametrize("what", sorted(OUTSIDE_THE_CHECKOUT))
def test_nothing_reads_a_path_outside_the_checkout(what: str) -> None:
    pattern = OUTSIDE_THE_CHECKOUT[what]
    found = {rel: lines for rel, text in searched_files()
             if (lines := offending_lines(text, pattern))}
    assert not found, f"{what}: {found}"


@pytest.mark.parametrize(
    "line",
    ['CORPUS = Path(__file__).parents[2] / "shared" / "corpus"',
     'GOLDEN = Path("/work/shared/refinery-checksums.json")',
     "see ../shared/REFINERY.md", "cd /home/ada/project", "ROOT.parent / 'corpus'"],
)
def test_the_path_patterns_catch_what_broke_before(line: str) -> None:
    assert any(p.search(line) for p in OUTSIDE_THE_CHECKOUT.values()), line


def test_nothing_cites_a_document_users_do_not_have() -> None:
    found = {rel: lines for rel, text in searched_files()
             if not rel.startswith(PRIVATE_DOCS_PENDING)
             and (lines := offending_lines(text, PRIVATE_DOCS))}
    assert not found, found
    assert PRIVATE_DOCS.search("the checksum (REFINERY.md §3)")


# --- links into the documentation -------------------------------------------------------------


#: The headings other code and documents link to (docs/refinery.md#...).
REFINERY_ANCHORS = ("file-names", "versions-and-duplicates", "checksum", "history-table",
                    "how-a-run-decides", "transactions", "cli-and-configuration")


def slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(document: Path) -> set[str]:
    text = document.read_text(encoding="utf-8")
    text = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)  # no headings in code blocks
    return {slug(m.group(1)) for m in re.finditer(r"^#{1,6} (.+)$", text, re.M)}


def test_refinery_doc_has_the_anchors_others_link_to() -> None:
    assert set(REFINERY_ANCHORS) <= anchors(CHECKOUT / "docs" / "refinery.md")
    assert slug("`check`: the whole gate") == "check-the-whole-gate"


#: `docs/x.md#a`, `README.md#a`, relative Markdown links `(../x.md#a)`, and `](#a)` links
#: within a Markdown document.
LINK = re.compile(r"(?<![\w/.])((?:\.\./)*(?:docs/)?[\w-]+\.md)#([\w-]+)")
SELF_LINK = re.compile(r"\]\(#([\w-]+)\)")


def test_every_link_into_the_documentation_lands_on_a_heading() -> None:
    checked = 0
    for rel, text in [*searched_files(), *_rules_package_files()]:
        here = (CHECKOUT / rel).parent
        links = LINK.findall(text)
        if rel.endswith(".md"):
            links += [(Path(rel).name, anchor) for anchor in SELF_LINK.findall(text)]
        for target, anchor in links:
            document = _resolve(target, here)
            assert document is not None, f"{rel}: {target} does not exist"
            assert anchor in anchors(document), f"{rel}: {target}#{anchor} has no such heading"
            checked += 1
    assert checked >= 20


def _rules_package_files() -> list[tuple[str, str]]:
    """The rule documentation links to docs/ too, once its rewrite lands: check it as well."""
    folder = CHECKOUT / "migration_gate" / "sql" / "rules"
    return [(p.relative_to(CHECKOUT).as_posix(), p.read_text(encoding="utf-8"))
            for p in sorted(folder.glob("*.py"))]


def _resolve(target: str, here: Path) -> Path | None:
    """A link is relative to its document inside docs/ and bench/, else to the checkout."""
    for base in (here, CHECKOUT):
        candidate = (base / target).resolve()
        if candidate.is_file() and candidate.is_relative_to(CHECKOUT):
            return candidate
    return None


def test_rules_index_lists_every_rule_with_its_default_severity() -> None:
    text = (CHECKOUT / "docs" / "rules.md").read_text(encoding="utf-8")
    listed = dict(re.findall(r"^\| `([a-z0-9-]+)` \| (error|warning|off) \|$", text, re.M))
    # SQL rules are one unit each in their family module (adding one touches nothing else):
    # the index names the modules, `migration-gate rules` lists them
    expected = {rule.id: rule.severity.value for rule in all_rules().values()
                if rule.needs not in ("stmt", "context")}
    missing = {k: v for k, v in expected.items() if listed.get(k) != v}
    assert not missing, "docs/rules.md needs the rows: " + " ".join(
        f"| `{k}` | {v} |" for k, v in missing.items())
    assert set(listed) == set(expected)
    assert "migration-gate rules ID" in text
    families = CHECKOUT / "migration_gate" / "sql" / "rules"
    for module in families.glob("*.py"):
        declares = "= Rule(" in module.read_text(encoding="utf-8")
        assert declares == (f"`migration_gate/sql/rules/{module.name}`" in text), module.name
