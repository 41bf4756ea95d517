"""SARIF 2.1.0, the format GitHub code scanning (`github/codeql-action/upload-sarif`) ingests.

Every rule of the catalogue is described in `tool.driver.rules` with its documentation, so an
alert shows why the rule exists and what to do instead. Locations are repository-relative URIs
under `%SRCROOT%`, which code scanning resolves against the checkout.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from migration_gate import __version__
from migration_gate.catalog import RuleDoc, all_rules
from migration_gate.diagnostics import Diagnostic, Severity
from migration_gate.pipeline import Result
from migration_gate.report import ReportOptions
from migration_gate.report.github import end_of, full_message

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.OFF: "none"}


def rule_markdown(doc: RuleDoc) -> str:
    """The rule's documentation as Markdown (code scanning shows it under each alert)."""
    parts = [doc.summary]
    if doc.why:
        parts += ["**Why is this bad?**", doc.why]
    if doc.example:
        parts += ["**Example:**", f"```sql\n{doc.example.strip()}\n```"]
    if doc.instead:
        parts += ["**Use instead:**", f"```sql\n{doc.instead.strip()}\n```"]
    return "\n\n".join(parts) + "\n"


def reporting_descriptor(doc: RuleDoc) -> dict[str, Any]:
    configuration: dict[str, Any] = {"level": _LEVELS[doc.severity]}
    if doc.severity is Severity.OFF:
        configuration = {"enabled": False, "level": "warning"}
    return {
        "id": doc.id,
        "name": "".join(word.capitalize() for word in doc.id.split("-")),
        "shortDescription": {"text": doc.summary},
        "fullDescription": {"text": doc.why or doc.summary},
        "help": {"text": doc.render(), "markdown": rule_markdown(doc)},
        "defaultConfiguration": configuration,
        "properties": {"tags": ["migrations", f"needs-{doc.needs}"]},
    }


def _unknown_rule(rule_id: str) -> dict[str, Any]:
    """A finding whose rule is not in this build's catalogue still needs a descriptor."""
    return {"id": rule_id, "shortDescription": {"text": rule_id}}


def artifact_uri(path: str) -> str:
    """A repository-relative path as a URI reference (spaces and non-ASCII percent-encoded)."""
    # a name that is not UTF-8 (its bytes kept as surrogates): its own bytes, percent-encoded
    raw = path.replace("\\", "/").encode("utf-8", "surrogateescape")
    return quote(raw, safe="/")


def sarif_result(diagnostic: Diagnostic, rule_index: int) -> dict[str, Any]:
    # Our end column is the last character; SARIF's is the one after it.
    end_line, last_column = end_of(diagnostic)
    region = {
        "startLine": diagnostic.line,
        "startColumn": diagnostic.column,
        "endLine": end_line,
        "endColumn": last_column + 1,
    }
    sarif: dict[str, Any] = {
        "ruleId": diagnostic.rule,
        "ruleIndex": rule_index,
        "level": _LEVELS[diagnostic.severity],
        "message": {"text": full_message(diagnostic)},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {
                        "uri": artifact_uri(diagnostic.path),
                        "uriBaseId": "%SRCROOT%",
                    },
                    "region": region,
                }
            }
        ],
    }
    if diagnostic.related:
        # the findings merged into this one (`migration_gate.merge`): same cause, their evidence
        sarif["relatedLocations"] = [
            {
                "id": number,
                "physicalLocation": {
                    "artifactLocation": {"uri": artifact_uri(related.path),
                                         "uriBaseId": "%SRCROOT%"},
                    "region": {"startLine": related.line,
                               "startColumn": related.column},
                },
                "message": {"text": f"{related.rule}: {related.message}"},
            }
            for number, related in enumerate(diagnostic.related, start=1)
        ]
    return sarif


def document(result: Result, options: ReportOptions) -> dict[str, Any]:
    descriptors = [reporting_descriptor(doc) for doc in all_rules().values()]
    index = {descriptor["id"]: position for position, descriptor in enumerate(descriptors)}
    for diagnostic in result.diagnostics:
        if diagnostic.rule not in index:
            index[diagnostic.rule] = len(descriptors)
            descriptors.append(_unknown_rule(diagnostic.rule))
    root_uri = options.root.resolve().as_uri().rstrip("/") + "/"
    run = {
        "tool": {
            "driver": {
                "name": "migration-gate",
                "version": __version__,
                "semanticVersion": __version__,
                "rules": descriptors,
            }
        },
        "originalUriBaseIds": {"%SRCROOT%": {"uri": root_uri}},
        "columnKind": "unicodeCodePoints",
        "results": [sarif_result(d, index[d.rule]) for d in result.diagnostics],
        "properties": {"command": options.command, "summary": result.counts()},
    }
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def render(result: Result, options: ReportOptions) -> str:
    return json.dumps(document(result, options), indent=2, ensure_ascii=False) + "\n"
