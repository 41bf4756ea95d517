"""The composite action (`action.yml`): valid metadata, no expression inside a script, and its
`run:` steps executed in bash the way the Actions runner would, on a shallow clone of a pull
request, asserting the annotations, the step summary, the outputs and the exit code."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from migration_gate.integrations.github_comment import is_marked
from tests.conftest import CHECKOUT, DATA, Repo, clean_env, make_repo, seed_migrations
from tests.github_fake import READ_TOKEN, WRITE_TOKEN, fake_github

ACTION = yaml.safe_load((CHECKOUT / "action.yml").read_text(encoding="utf-8"))
STEPS: list[dict[str, Any]] = ACTION["runs"]["steps"]
SCHEMA_PATH = DATA / "sarif-schema-2.1.0.json"


# --- static checks ----------------------------------------------------------------------------


def test_action_metadata_validates_against_the_github_actions_schema() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-actions",
         str(CHECKOUT / "action.yml")],
        capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_schema_check_can_fail(tmp_path: Path) -> None:
    broken = dict(ACTION, runs={"using": "composite", "steps": [{"run": "true"}]})  # no shell
    (tmp_path / "action.yml").write_text(yaml.safe_dump(broken), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-actions",
         str(tmp_path / "action.yml")],
        capture_output=True, text=True,
    )
    assert done.returncode != 0


def test_no_expression_inside_any_run_script() -> None:
    scripts = [step["run"] for step in STEPS if "run" in step]
    assert len(scripts) >= 3
    for script in scripts:
        assert "${{" not in script, script


def test_only_the_comment_step_sees_the_token() -> None:
    """The check replays the pull request's SQL: nothing it starts may read the token."""
    holders = [step["name"] for step in STEPS
               if any("token" in str(value) for value in step.get("env", {}).values())]
    assert holders == ["Comment on the pull request"]
    comment = next(step for step in STEPS if step.get("name") == "Comment on the pull request")
    assert comment["env"]["GITHUB_TOKEN"] == "${{ inputs.github-token }}"
    assert "GITHUB_TOKEN" not in json.dumps([step.get("run", "") for step in STEPS])


def test_inputs_and_pinned_setup_python() -> None:
    inputs = ACTION["inputs"]
    for name in ("migrations-dir", "dialect", "verify", "fail-on", "config", "sarif-file",
                 "comment", "github-token"):
        assert name in inputs and inputs[name]["description"]
    assert inputs["comment"]["default"] == "false"
    assert inputs["github-token"]["default"] == "${{ github.token }}"
    assert ACTION["runs"]["using"] == "composite"
    uses = [step["uses"] for step in STEPS if "uses" in step]
    assert uses and all(re.fullmatch(r"actions/(setup-python|cache)@[0-9a-f]{40}", u)
                        for u in uses)
    assert sum(u.startswith("actions/cache@") for u in uses) == 2  # environment, gate cache
    assert all("if" not in step for step in STEPS)  # the simulation below runs every step


# --- a simulated runner -----------------------------------------------------------------------


def evaluate(text: str, context: dict[str, Any]) -> str:
    """`${{ a.b.c }}` property look-ups, the only expressions the action uses."""

    def lookup(match: re.Match[str]) -> str:
        expression = match.group(1).strip()
        assert re.fullmatch(r"[A-Za-z_][\w.-]*", expression), f"unsupported: {expression}"
        value: Any = context
        for part in expression.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return "" if value is None else str(value)

    return re.sub(r"\$\{\{(.*?)\}\}", lookup, text)


def read_outputs(path: Path) -> dict[str, str]:
    """`$GITHUB_OUTPUT`: `name=value` lines and `name<<DELIMITER` blocks."""
    outputs: dict[str, str] = {}
    lines = iter(path.read_text(encoding="utf-8").splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            block = []
            for inner in lines:
                if inner == delimiter:
                    break
                block.append(inner)
            outputs[name] = "\n".join(block)
        elif "=" in line:
            name, value = line.split("=", 1)
            outputs[name] = value
    return outputs


@dataclass
class Run:
    exit_code: int
    log: str
    summary: str
    outputs: dict[str, str]
    steps_run: list[str] = field(default_factory=list)
    durations: dict[str, float] = field(default_factory=dict)  # seconds, by step name


def restore_cache(store: Path | None, spec: dict[str, str]) -> str:
    """actions/cache's restore: the exact key, else the newest entry under a restore-keys
    prefix; its `cache-hit` output ("true" only for the exact key)."""
    if store is None:
        return "false"
    target = Path(spec["path"])
    exact = store / spec["key"]
    candidates = [exact] if exact.is_dir() else []
    for prefix in filter(None, spec.get("restore-keys", "").splitlines()):
        candidates += sorted((e for e in store.glob(f"{prefix}*") if e.is_dir()),
                             key=lambda e: e.stat().st_mtime, reverse=True)
    if not candidates:
        return "false"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(candidates[0], target, symlinks=True)
    return "true" if candidates[0] == exact else "false"


def save_caches(store: Path | None, saves: list[tuple[dict[str, str], str]]) -> None:
    """actions/cache's post step: save the path under the key unless the key was hit."""
    for spec, hit in saves:
        target, entry = Path(spec["path"]), store / spec["key"] if store else None
        if entry is not None and hit != "true" and target.is_dir() and not entry.exists():
            shutil.copytree(target, entry, symlinks=True)


def run_action(action_dir: Path, workspace: Path, runner_temp: Path, event: dict[str, Any],
               inputs: dict[str, str], only: set[str] | None = None, token: str = "",
               api_url: str = "", run_id: str = "4242", cache_store: Path | None = None) -> Run:
    """The action's steps in order. `cache_store`: where actions/cache keeps its entries
    (None: every restore misses and nothing is saved)."""
    work = runner_temp / "runner"
    work.mkdir(parents=True, exist_ok=True)
    event_path = work / "event.json"
    event_path.write_text(json.dumps(event), encoding="utf-8")
    context: dict[str, Any] = {
        "github": {"action_path": str(action_dir), "workspace": str(workspace), "event": event,
                   "base_ref": event["pull_request"]["base"]["ref"], "token": token,
                   "action_ref": "", "sha": git_in(workspace, "rev-parse", "HEAD").stdout.strip()},
        "runner": {"temp": str(runner_temp), "os": "Linux"},
        "steps": {},
    }
    # input defaults may be expressions (`${{ github.token }}`): the runner evaluates them
    given = {name: evaluate(str(spec.get("default", "")), context)
             for name, spec in ACTION["inputs"].items()}
    given.update(inputs)
    context["inputs"] = given
    base_env = clean_env({
        "CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(event_path), "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_BASE_REF": event["pull_request"]["base"]["ref"],
        "GITHUB_HEAD_REF": event["pull_request"]["head"]["ref"],
        "GITHUB_ACTION_PATH": str(action_dir), "RUNNER_TEMP": str(runner_temp),
        "RUNNER_OS": "Linux", "GITHUB_REPOSITORY": "octo/shop",
        "GITHUB_SERVER_URL": "https://github.com", "GITHUB_RUN_ID": run_id,
        **({"GITHUB_API_URL": api_url} if api_url else {}),
        # for pull_request events, the test merge commit actions/checkout checked out
        "GITHUB_SHA": git_in(workspace, "rev-parse", "HEAD").stdout.strip(),
    })
    log: list[str] = []
    summaries: list[str] = []
    steps_run: list[str] = []
    durations: dict[str, float] = {}
    saves: list[tuple[dict[str, str], str]] = []
    exit_code = 0
    for index, step in enumerate(STEPS):
        step_id = step.get("id", f"step{index}")
        if only is not None and step.get("name") not in only:
            continue
        outputs_file = work / f"output-{index}"
        summary_file = work / f"summary-{index}"
        outputs_file.write_text("", encoding="utf-8")
        started = time.perf_counter()
        if step.get("uses", "").startswith("actions/cache@"):
            spec = {k: evaluate(str(v), context) for k, v in step.get("with", {}).items()}
            hit = restore_cache(cache_store, spec)
            saves.append((spec, hit))
            outputs_file.write_text(f"cache-hit={hit}\n", encoding="utf-8")
        elif "uses" in step:
            # actions/setup-python is replaced by the Python this test suite runs on (its
            # venv); the install step makes its own venv from it.
            assert step["uses"].startswith("actions/setup-python@")
            version = ".".join(str(n) for n in sys.version_info[:3])
            outputs_file.write_text(f"python-path={sys.executable}\npython-version={version}\n",
                                    encoding="utf-8")
        else:
            assert step["shell"] == "bash"
            env = dict(base_env, GITHUB_OUTPUT=str(outputs_file),
                       GITHUB_STEP_SUMMARY=str(summary_file))
            env.update({k: evaluate(str(v), context) for k, v in step.get("env", {}).items()})
            cwd = workspace / evaluate(step.get("working-directory", "."), context)
            script = work / f"step-{index}.sh"
            script.write_text(step["run"], encoding="utf-8")
            # The runner's command line for `shell: bash`.
            done = subprocess.run(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                cwd=cwd, env=env, capture_output=True, text=True, timeout=600,
            )
            log.append(done.stdout + done.stderr)
            if summary_file.exists():
                summaries.append(summary_file.read_text(encoding="utf-8"))
            steps_run.append(step.get("name", step_id))
            exit_code = done.returncode
        durations[step.get("name", step_id)] = time.perf_counter() - started
        context["steps"][step_id] = {"outputs": read_outputs(outputs_file)}
        if exit_code != 0:
            break
    save_caches(cache_store, saves)  # the post steps run whatever the outcome
    return Run(exit_code, "".join(log), "".join(summaries), _action_outputs(context), steps_run,
               durations)


def _action_outputs(context: dict[str, Any]) -> dict[str, str]:
    return {name: evaluate(spec["value"], context) for name, spec in ACTION["outputs"].items()}


# --- a pull request on a shallow checkout -----------------------------------------------------


@dataclass
class PullRequest:
    upstream: Repo
    base_sha: str
    head_sha: str
    event: dict[str, Any]


def open_pull_request(tmp_path: Path, files: dict[str, str]) -> PullRequest:
    """main with V001..V003; `feature` adds `files`; main meanwhile gets V004; GitHub's test
    merge of the two is published as branch `pull/1/merge` (refs/pull/1/merge on GitHub)."""
    upstream = make_repo(tmp_path / "upstream")
    seed_migrations(upstream, count=3)
    upstream.git("checkout", "-q", "-b", "feature")
    for rel, content in files.items():
        upstream.write(rel, content)
    head_sha = upstream.commit("feature work")
    upstream.git("checkout", "-q", "main")
    upstream.write("migrations/V004__add_users_email.sql",
                   "ALTER TABLE table_1 ADD COLUMN IF NOT EXISTS email text;\n")
    base_sha = upstream.commit("V004 on main")
    upstream.git("checkout", "-q", "-b", "pull/1/merge")
    upstream.git("merge", "-q", "--no-ff", "-m", "Merge feature into main", "feature")
    upstream.git("checkout", "-q", "main")
    event = {
        "action": "synchronize",
        "number": 1,
        "pull_request": {
            "number": 1,
            "title": "Add orders $(touch INJECTED) `touch INJECTED`",
            "base": {"ref": "main", "sha": base_sha},
            "head": {"ref": "feature", "sha": head_sha},
        },
    }
    return PullRequest(upstream, base_sha, head_sha, event)


def shallow_checkout(pull: PullRequest, path: Path) -> Path:
    """What actions/checkout does by default: the test merge commit at depth 1."""
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", "--branch", "pull/1/merge",
         pull.upstream.path.as_uri(), str(path)],
        env=clean_env(), check=True, capture_output=True,
    )
    return path


@pytest.fixture(scope="module")
def action_dir(gate_snapshot: Repo) -> Path:
    """`github.action_path`: the action's own checkout (a snapshot of this one)."""
    return gate_snapshot.path


@pytest.fixture(scope="module")
def runner_temp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Shared by the runs of this module, like one job calling the action several times:
    the gate's venv is built once."""
    return tmp_path_factory.mktemp("runner-temp")


def git_in(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=path, env=clean_env(), capture_output=True,
                          text=True)


def workflow_annotations(log: str) -> list[tuple[str, dict[str, str], str]]:
    found = []
    for line in log.splitlines():
        match = re.fullmatch(r"::(error|warning) ([^:]*)::(.*)", line)
        if match:
            properties = dict(pair.split("=", 1) for pair in match.group(2).split(","))
            found.append((match.group(1), properties, match.group(3)))
    return found


BAD_FILES = {
    "migrations/V004__create_orders.sql": "CREATE TABLE IF NOT EXISTS orders (id bigint);\n",
    "migrations/v005__misnamed.sql": "CREATE TABLE IF NOT EXISTS misnamed (id bigint);\n",
}


@pytest.mark.slow  # over 0.6 s in the fast loop
def test_fetch_step_makes_the_base_reachable_in_a_shallow_clone(tmp_path: Path, action_dir: Path,
                                                                runner_temp: Path) -> None:
    pull = open_pull_request(tmp_path, {"migrations/V005__ok.sql": "SELECT 1;\n"})
    workspace = shallow_checkout(pull, tmp_path / "workspace")
    assert git_in(workspace, "merge-base", "HEAD", pull.base_sha).returncode != 0
    run = run_action(action_dir, workspace, runner_temp, pull.event, {},
                     only={"Fetch the base commit"})
    assert run.exit_code == 0, run.log
    assert run.steps_run == ["Fetch the base commit"]
    merge_base = git_in(workspace, "merge-base", "HEAD", pull.base_sha)
    assert merge_base.stdout.strip() == pull.base_sha  # the test merge's first parent


@pytest.mark.slow
def test_bad_pull_request_fails_with_annotations_summary_and_sarif(
    tmp_path: Path, action_dir: Path, runner_temp: Path
) -> None:
    files = dict(BAD_FILES)
    files["migrations/V006__index_orders.sql"] = (
        "-- orders by id\n\nCREATE INDEX CONCURRENTLY IF NOT EXISTS orders_id ON orders (id);\n"
    )
    pull = open_pull_request(tmp_path, files)
    workspace = shallow_checkout(pull, tmp_path / "workspace")
    run = run_action(action_dir, workspace, runner_temp, pull.event,
                     {"verify": "false", "sarif-file": "reports/gate.sarif"})

    assert run.exit_code == 1, run.log
    assert run.outputs["exit-code"] == "1"
    found = {(p["file"], p["line"], p["title"]) for kind, p, _ in workflow_annotations(run.log)
             if kind == "error"}
    # V004 collides with the V004 merged on main since the branch started: only visible
    # because the base was fetched into the shallow clone.
    assert ("migrations/V004__create_orders.sql", "1", "duplicate-version") in found
    assert ("migrations/v005__misnamed.sql", "1", "invalid-filename") in found
    # the SQL rule, on the offending line of the migration
    assert ("migrations/V006__index_orders.sql", "3",
            "ban-concurrent-index-creation-in-transaction") in found

    assert "### migration-gate check" in run.summary
    assert "| `migrations/v005__misnamed.sql` | " in run.summary
    assert "`invalid-filename`" in run.summary and "`duplicate-version`" in run.summary
    merge_sha = git_in(workspace, "rev-parse", "HEAD").stdout.strip()
    assert f"[1](https://github.com/octo/shop/blob/{merge_sha}/migrations/v005__misnamed.sql#L1)" \
        in run.summary

    sarif_path = Path(run.outputs["sarif-file"])
    assert sarif_path == workspace / "reports" / "gate.sarif"
    document = json.loads(sarif_path.read_text(encoding="utf-8"))
    import jsonschema

    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.validators.validator_for(schema)(schema).validate(document)
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for r in document["runs"][0]["results"]}
    assert {"migrations/V004__create_orders.sql", "migrations/v005__misnamed.sql"} <= uris
    assert not list(workspace.rglob("INJECTED"))


@pytest.mark.slow
def test_good_pull_request_passes(tmp_path: Path, action_dir: Path, runner_temp: Path) -> None:
    pull = open_pull_request(tmp_path, {
        "migrations/V005__create_orders.sql": "CREATE TABLE IF NOT EXISTS orders (id bigint);\n",
    })
    workspace = shallow_checkout(pull, tmp_path / "workspace")
    run = run_action(action_dir, workspace, runner_temp, pull.event, {"verify": "false"})
    assert run.exit_code == 0, run.log
    assert run.outputs == {"exit-code": "0", "sarif-file": ""}
    assert not workflow_annotations(run.log)
    assert ":white_check_mark: No findings in 5 files." in run.summary


@pytest.mark.slow
def test_inputs_are_data_not_code(tmp_path: Path, action_dir: Path, runner_temp: Path) -> None:
    pull = open_pull_request(tmp_path, {"migrations/V005__ok.sql": "SELECT 1;\n"})
    workspace = shallow_checkout(pull, tmp_path / "workspace")
    hostile = 'migrations"; touch INJECTED; echo "$(touch INJECTED)'
    run = run_action(action_dir, workspace, runner_temp, pull.event,
                     {"verify": "false", "migrations-dir": hostile})
    assert run.exit_code == 2
    assert "migrations folder not found" in run.log
    assert not list(workspace.rglob("INJECTED"))
    assert run.outputs["exit-code"] == "2"


@pytest.mark.slow
def test_fail_on_warning_and_a_bad_verify_value(tmp_path: Path, action_dir: Path,
                                                runner_temp: Path) -> None:
    pull = open_pull_request(tmp_path, {"migrations/V006__skips_v005.sql": "SELECT 1;\n"})
    workspace = shallow_checkout(pull, tmp_path / "workspace")
    lenient = run_action(action_dir, workspace, runner_temp, pull.event, {"verify": "false"})
    assert lenient.exit_code == 0, lenient.log
    found = workflow_annotations(lenient.log)
    assert ("warning", "version-gap") in {(k, p["title"]) for k, p, _ in found}
    strict = run_action(action_dir, workspace, runner_temp, pull.event,
                        {"verify": "false", "fail-on": "warning"})
    assert strict.exit_code == 1
    wrong = run_action(action_dir, workspace, runner_temp, pull.event, {"verify": "sometimes"})
    assert wrong.exit_code == 2
    assert "::error title=migration-gate::input verify must be true, false or auto" in wrong.log


# --- the pull-request comment (against a local GitHub) --------------------------------------


@pytest.mark.slow
def test_comment_is_created_then_edited_and_the_exit_code_stays_the_gates(
    tmp_path: Path, action_dir: Path, runner_temp: Path
) -> None:
    pull = open_pull_request(tmp_path, BAD_FILES)
    workspace = shallow_checkout(pull, tmp_path / "workspace")
    inputs = {"verify": "false", "comment": "true", "sarif-file": "gate.sarif"}
    with fake_github() as fake:
        fake.add_comment("octo", "shop", 1, "Looks good apart from the gate")
        first = run_action(action_dir, workspace, runner_temp, pull.event, inputs,
                           token=WRITE_TOKEN, api_url=fake.url, run_id="101")
        assert first.exit_code == 1, first.log
        assert first.outputs["exit-code"] == "1"
        assert "created the pull-request comment" in first.log
        assert first.steps_run[-2:] == ["Comment on the pull request",
                                        "Report the gate's exit code"]
        (body,) = [b for b in fake.bodies("octo", "shop", 1) if is_marked(b)]
        assert "`duplicate-version`" in body and "`invalid-filename`" in body
        link = f"https://github.com/octo/shop/blob/{pull.head_sha}/migrations/v005__misnamed.sql#L1"
        assert f"[line 1]({link})" in body  # the head commit, not the test merge
        assert "https://github.com/octo/shop/actions/runs/101" in body
        assert (workspace / "gate.sarif").is_file()  # SARIF and the comment together

        second = run_action(action_dir, workspace, runner_temp, pull.event, inputs,
                            token=WRITE_TOKEN, api_url=fake.url, run_id="102")
        assert second.exit_code == 1, second.log
        assert "updated the pull-request comment" in second.log
        bodies = fake.bodies("octo", "shop", 1)
        assert len(bodies) == 2 and bodies[0] == "Looks good apart from the gate"
        assert is_marked(bodies[1]) and "actions/runs/102" in bodies[1]
        assert [method for method, _ in fake.calls()] == ["GET", "POST", "GET", "PATCH"]
        assert fake.violations == []


@pytest.mark.slow
def test_a_fork_gets_the_summary_and_one_notice(tmp_path: Path, action_dir: Path,
                                                runner_temp: Path) -> None:
    pull = open_pull_request(tmp_path, BAD_FILES)
    pull.event["pull_request"]["head"]["repo"] = {"full_name": "someone/shop"}
    pull.event["pull_request"]["base"]["repo"] = {"full_name": "octo/shop"}
    workspace = shallow_checkout(pull, tmp_path / "workspace")
    with fake_github() as fake:
        fake.open_issue("octo", "shop", 1)
        run = run_action(action_dir, workspace, runner_temp, pull.event,
                         {"verify": "false", "comment": "true"}, token=READ_TOKEN,
                         api_url=fake.url)
        assert run.exit_code == 1, run.log  # the gate's own
        notices = [line for line in run.log.splitlines() if line.startswith("::notice")]
        assert len(notices) == 1 and "fork" in notices[0], run.log
        assert "| `migrations/v005__misnamed.sql` | " in run.summary
        assert fake.bodies("octo", "shop", 1) == []
        assert fake.calls()[-1][0] == "POST"  # tried, and GitHub answered 403
        assert fake.violations == []


@pytest.mark.slow
def test_a_clean_pull_request_gets_no_comment_and_a_broken_api_changes_nothing(
    tmp_path: Path, action_dir: Path, runner_temp: Path
) -> None:
    pull = open_pull_request(tmp_path, {
        "migrations/V005__create_orders.sql": "CREATE TABLE IF NOT EXISTS orders (id bigint);\n",
    })
    workspace = shallow_checkout(pull, tmp_path / "workspace")
    inputs = {"verify": "false", "comment": "true"}
    with fake_github() as fake:
        fake.open_issue("octo", "shop", 1)
        run = run_action(action_dir, workspace, runner_temp, pull.event, inputs,
                         token=WRITE_TOKEN, api_url=fake.url)
        assert run.exit_code == 0, run.log
        assert "nothing to post" in run.log
        assert fake.bodies("octo", "shop", 1) == [] and fake.calls() == [
            ("GET", "/repos/octo/shop/issues/1/comments")]
    # the server is gone: the comment step says so in one line, the gate stays green
    broken = run_action(action_dir, workspace, runner_temp, pull.event, inputs,
                        token=WRITE_TOKEN, api_url=fake.url)
    assert broken.exit_code == 0, broken.log
    warnings = [line for line in broken.log.splitlines() if line.startswith("::warning")]
    assert len(warnings) == 1 and "cannot reach 127.0.0.1" in warnings[0]
    wrong = run_action(action_dir, workspace, runner_temp, pull.event,
                       {"verify": "false", "comment": "yes"})
    assert wrong.exit_code == 2
    assert "::error title=migration-gate::input comment must be true or false" in wrong.log


# --- the documented workflow ------------------------------------------------------------------


def documented_workflow() -> str:
    text = (CHECKOUT / "docs" / "github-action.md").read_text(encoding="utf-8")
    blocks: list[str] = [block for block in re.findall(r"```yaml\n(.*?)```", text, flags=re.S)
              if "jobs:" in block]
    assert len(blocks) == 1
    return blocks[0]


def test_documented_workflow_is_valid_and_uses_real_inputs(tmp_path: Path) -> None:
    text = documented_workflow()
    workflow = yaml.safe_load(text)
    path = tmp_path / "migrations.yml"
    path.write_text(text, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows",
         str(path)],
        capture_output=True, text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    steps = workflow["jobs"]["migration-gate"]["steps"]
    gate = next(step for step in steps if "/migration-gate@" in step.get("uses", ""))
    assert set(gate["with"]) <= set(ACTION["inputs"])
    upload = next(step for step in steps if "upload-sarif" in step.get("uses", ""))
    assert upload["with"]["sarif_file"] == gate["with"]["sarif-file"]
    assert all(re.search(r"@[0-9a-f]{40}$", step["uses"]) for step in steps
               if step["uses"].startswith(("actions/", "github/")))


# --- the caches -------------------------------------------------------------------------------


@pytest.mark.slow
def test_the_second_run_restores_the_environment_and_the_gates_cache(
    tmp_path: Path, action_dir: Path
) -> None:
    """Two jobs on fresh runners (RUNNER_TEMP wiped in between, at the same path as on GitHub's
    runners) sharing actions/cache's store: the second restores the venv (no pip at all) and
    the gate's cache. The install step's durations are printed (`pytest -s`) for the docs."""
    store = tmp_path / "cache-store"
    store.mkdir()
    pull = open_pull_request(tmp_path, {
        "migrations/V005__create_orders.sql": "CREATE TABLE IF NOT EXISTS orders (id bigint);\n",
    })
    temp = tmp_path / "runner-temp"
    runs = []
    for attempt in ("cold", "warm"):
        shutil.rmtree(temp, ignore_errors=True)
        temp.mkdir()
        workspace = shallow_checkout(pull, tmp_path / f"workspace-{attempt}")
        run = run_action(action_dir, workspace, temp, pull.event, {}, cache_store=store)
        assert run.exit_code == 0, run.log
        runs.append(run)
    cold, warm = runs
    assert "restored from the cache" not in cold.log
    assert "migration-gate: the environment was restored from the cache" in warm.log
    keys = sorted(entry.name for entry in store.iterdir())
    venv_keys = [k for k in keys if "-venv-" in k]
    assert len(venv_keys) == 1 and venv_keys[0].startswith("migration-gate-Linux-py3.")
    assert venv_keys[0].endswith("-venv-postgres")
    gate_caches = [k for k in keys if "-cache-" in k]
    assert gate_caches and any(store.joinpath(k).iterdir() for k in gate_caches)
    print(f"\ninstall step: cold {cold.durations['Install migration-gate']:.1f} s, "
          f"warm {warm.durations['Install migration-gate']:.1f} s; check step: cold "
          f"{cold.durations['Check the migrations']:.1f} s, warm "
          f"{warm.durations['Check the migrations']:.1f} s")
    assert warm.durations["Install migration-gate"] < cold.durations["Install migration-gate"]


def test_a_new_gate_version_gets_a_new_key(tmp_path: Path, gate_snapshot: Repo) -> None:
    """The key step's digest covers pyproject.toml and the package: a changed file of either
    changes the key, a changed README does not."""
    step = next(s for s in STEPS if s.get("id") == "keys")
    source = tmp_path / "action"
    shutil.copytree(gate_snapshot.path, source, ignore=shutil.ignore_patterns(".git"))

    def key() -> str:
        outputs = tmp_path / "outputs"
        outputs.write_text("", encoding="utf-8")
        env = clean_env({"GATE_SOURCE": str(source), "GATE_REF": "v0.1.0",
                         "GATE_PYTHON_VERSION": "3.12.7", "GATE_VERIFY": "auto",
                         "RUNNER_OS": "Linux", "GITHUB_OUTPUT": str(outputs)})
        subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
                       env=env, check=True, capture_output=True)
        return read_outputs(outputs)["venv"]

    first = key()
    assert first.startswith("migration-gate-Linux-py3.12.7-v0.1.0-")
    (source / "README.md").write_text("changed\n", encoding="utf-8")
    assert key() == first
    (source / "migration_gate" / "cli.py").write_text("# changed\n", encoding="utf-8")
    second = key()
    assert second != first
    with (source / "pyproject.toml").open("a", encoding="utf-8") as handle:
        handle.write("# changed\n")
    assert key() not in (first, second)
