"""The autonomous session: ``kaizen session [REPO]``.

Public API (also used by ``kaizen demo``)::

    from agent.session import SessionOptions, run_session

    summary = run_session(Path("repo"), SessionOptions(budget=600.0, dry_run=True))

``SessionOptions`` holds the command-line overrides; a field left ``None``
falls back to ``[tool.kaizen]`` in the target's ``pyproject.toml``:

- ``base``: the ref the session starts from (default ``HEAD``).
- ``branch``: the branch name to create (default ``<branch-prefix><UTC stamp>``).
- ``select`` / ``ignore``: rule selectors (codes, prefixes, names).
- ``unsafe_fixes``: also try fixes labelled unsafe.
- ``budget``: seconds before the session stops starting new groups.
- ``max_commits``: most change commits.
- ``dry_run``: everything but commit; no branch; the report goes to a temp path.
- ``python``: the target's interpreter.
- ``push``: a remote to push the branch to (otherwise nothing is pushed).
- ``json``: the command prints the summary as JSON (the API always returns it).

``run_session(repo, options, settings=None) -> dict`` runs the stages and
returns the summary: ``repo``, ``branch`` (None when no branch was made),
``status``, ``stop_reason``, ``base``, ``commits`` (each ``sha``, ``rule``,
``files``, ``measured``), ``reverted`` (each ``rule``, ``files``, ``gate``,
``reason``), ``report`` (its path inside the branch, or an absolute temp path
when no branch was made), ``record`` (absolute path of the JSON record as
written), ``dry_run``, ``duration_s``. Errors the user can cause raise
``agent.errors.UserError`` (exit code 1 for a refused or failed session, 2 for
usage and configuration); the CLI turns them into one sentence.
"""

from __future__ import annotations

import datetime as _dt
import fnmatch
import json as _json
import os
import signal
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from agent import __version__
from agent import environment as env
from agent.config import ConfigError, Settings, load_settings
from agent.errors import UserError
from agent.gates import (
    GateContext,
    GateResult,
    SmokeRun,
    TestRun,
    compile_errors,
    measure_pattern,
    ruff_counts,
    run_smoke,
    run_tests,
    verify_benchmark,
    verify_compiles,
    verify_equivalence,
    verify_ruff,
    verify_smoke,
    verify_tests,
)
from agent.git import GitError, GitRepo, Identity
from agent.lock import LockBusy, SessionLock
from agent.plan import Group, make_plan, skipped_entry
from agent.state import SessionState
from rules.framework import Rule, Safety


@dataclass
class SessionOptions:
    base: str | None = None
    branch: str | None = None
    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] | None = None
    unsafe_fixes: bool | None = None
    budget: float | None = None
    max_commits: int | None = None
    dry_run: bool = False
    python: str | None = None
    push: str | None = None
    json: bool = False


SCHEMA_VERSION = 1
KAIZEN_DIR = "kaizen"  # inside the repository's common git directory


def _utc_now() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0)


def _iso(moment: _dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _stamp(moment: _dt.datetime) -> str:
    return moment.strftime("%Y%m%d-%H%M%S")


# -- preflight ----------------------------------------------------------------

@dataclass
class Workspace:
    """What preflight sets up and cleanup takes down."""

    repo: GitRepo
    kaizen_dir: Path
    lock: SessionLock
    base_ref: str
    base_sha: str
    worktree_path: Path
    worktree: GitRepo | None = None


def open_repository(path: Path) -> GitRepo:
    """The repository at ``path``, refused with one sentence when a session cannot start."""
    try:
        repo = GitRepo(path)
    except GitError as exc:
        raise UserError(str(exc), exit_code=2) from None
    if repo.is_unborn():
        raise UserError(f"{repo.root} has no commits yet; commit something before starting a session")
    operation = repo.operation_in_progress()
    if operation:
        raise UserError(f"{repo.root} is in the middle of {operation}; finish or abort it first")
    unmerged = repo.unmerged_paths()
    if unmerged:
        raise UserError(f"{repo.root} has unmerged paths ({unmerged[0]}); resolve them first")
    return repo


def remove_stale(repo: GitRepo, kaizen_dir: Path) -> list[str]:
    """Remove worktrees that killed sessions left behind (we hold the lock, so
    no live session owns them)."""
    removed = []
    folder = kaizen_dir / "worktrees"
    if folder.is_dir():
        for stale in sorted(folder.iterdir()):
            repo.remove_worktree(stale)
            removed.append(stale.name)
    repo.prune_worktrees()
    return removed


def preflight(repo: GitRepo, base_ref: str, started: _dt.datetime) -> Workspace:
    base_sha = repo.resolve(base_ref) if base_ref else repo.head_sha()
    kaizen_dir = repo.common_dir / KAIZEN_DIR
    lock = SessionLock(kaizen_dir / "session.lock")
    try:
        lock.acquire()
    except LockBusy as exc:
        holder = f" (process {exc.args[0]})" if exc.args and exc.args[0] else ""
        raise UserError(f"another kaizen session is already running on {repo.root}{holder}; "
                        "try again when it has finished") from None
    worktree_path = kaizen_dir / "worktrees" / f"{_stamp(started)}-{os.getpid()}"
    return Workspace(repo, kaizen_dir, lock, base_ref, base_sha, worktree_path)


def cleanup(workspace: Workspace) -> None:
    try:
        if workspace.worktree_path.exists() or workspace.worktree is not None:
            workspace.repo.remove_worktree(workspace.worktree_path)
    finally:
        workspace.lock.release()


@contextmanager
def _terminate_as_interrupt():
    """SIGTERM (a scheduler's stop) unwinds like Ctrl-C, so the same finally
    blocks remove the worktree and release the lock."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


# -- baseline -----------------------------------------------------------------

@dataclass
class Baseline:
    compile_errors: list[str]
    ruff: Counter | None
    tests: TestRun | None
    smoke: SmokeRun | None
    commands_skipped: str | None = None

    def to_record(self) -> dict:
        return {
            "compile_errors": self.compile_errors,
            "ruff_errors": None if self.ruff is None else sum(self.ruff.values()),
            "tests": None if self.tests is None else self.tests.to_record(),
            "smoke": None if self.smoke is None else self.smoke.to_record(),
            "commands_skipped": self.commands_skipped,
        }


def python_files(worktree: GitRepo, settings: Settings) -> list[str]:
    """Tracked regular ``.py`` files (never symlinks), minus ``exclude`` globs."""
    files = []
    for path in worktree.tracked_files():
        if not path.endswith(".py"):
            continue
        if any(fnmatch.fnmatch(path, pattern) or fnmatch.fnmatch(path, f"{pattern.rstrip('/')}/*")
               for pattern in settings.exclude):
            continue
        files.append(path)
    return files


def measure_baseline(ctx: GateContext, files: Sequence[str], run_commands: bool = True) -> Baseline:
    """What already holds before any change. ``run_commands=False`` skips the
    test and smoke commands (nothing will be tried, so nothing to compare)."""
    try:
        ruff = ruff_counts(ctx, files)
    except RuntimeError:
        ruff = None
    if not run_commands:
        return Baseline(compile_errors(ctx, files), ruff, None, None,
                        commands_skipped="no fixable findings to try")
    return Baseline(compile_errors(ctx, files), ruff, run_tests(ctx), run_smoke(ctx))


# -- scan ---------------------------------------------------------------------

def scan_worktree(worktree: Path, files: Sequence[str], rules: Sequence[type[Rule]],
                  settings: Settings) -> tuple[list, list[dict], list[dict]]:
    """Findings, per-file errors and ruff advisories for ``files``."""
    from agent.ruff import advisories as ruff_advisories
    from agent.scan import scan

    paths = [worktree / f for f in files]
    result = scan(paths, rules, root=worktree, settings=settings, use_cache=False)
    errors = [{"path": e.path, "message": e.message} for e in result.errors]
    advisories = ruff_advisories(paths, worktree, settings.ruff_families)
    return result.findings, errors, advisories


# -- one group ----------------------------------------------------------------

@dataclass
class Outcome:
    group: Group
    gates: list[GateResult] = field(default_factory=list)
    diff: str = ""
    lines: list[dict] = field(default_factory=list)
    pattern: dict | None = None
    tests_after: TestRun | None = None
    smoke_after: SmokeRun | None = None
    not_applied: str | None = None
    ruff_counts: Counter | None = None
    # Safety of the fixes actually applied: a rule may offer a safe and an
    # unsafe rewrite of the same code, and --unsafe-fixes picks the latter.
    safety: Safety = Safety.SAFE

    @property
    def failed_gate(self) -> GateResult | None:
        return next((gate for gate in self.gates if gate.failed), None)


@dataclass
class SessionRun:
    """Mutable state of one session's loop."""

    ctx: GateContext
    worktree: GitRepo
    baseline: Baseline
    unsafe_fixes: bool
    current_tests: TestRun
    current_smoke: SmokeRun | None
    ruff_now: Counter | None
    equivalence: dict[str, tuple[GateResult, dict]] = field(default_factory=dict)
    patterns: dict[str, dict] = field(default_factory=dict)


def apply_group(run: SessionRun, group: Group) -> tuple[bytes, Outcome]:
    """Apply ``group``'s rule to its file; returns the original bytes."""
    from rules.engine import ParseFailure, fix_source

    target = run.ctx.worktree / group.path
    original = target.read_bytes()
    outcome = Outcome(group)
    try:
        source = original.decode("utf-8")
        result = fix_source(source, group.path, [group.rule], unsafe_fixes=run.unsafe_fixes)
    except (UnicodeDecodeError, ParseFailure) as exc:
        outcome.not_applied = f"the file could not be read as Python: {exc}"
        return original, outcome
    applied = [f for f in result.applied if f.code == group.rule.code]
    if not applied:
        if result.rejected:
            where = ", ".join(f"line {f.line}" for f in result.rejected)
            outcome.gates.append(GateResult("compiles", "failed",
                                            f"the fix would not compile ({group.path}, {where}); "
                                            "the engine rejected it"))
        else:
            outcome.not_applied = "the fix no longer applies to the file as it is now"
        return original, outcome
    target.write_bytes(result.source.encode("utf-8"))
    if any(f.safety is Safety.UNSAFE for f in applied):
        outcome.safety = Safety.UNSAFE
    outcome.lines = [{"path": group.path, "line": f.span.line, "end_line": f.span.end_line}
                     for f in applied]
    outcome.diff = run.worktree.diff([group.path])
    return original, outcome


def verify_group(run: SessionRun, outcome: Outcome) -> None:
    """Run the gates in order, stopping at the first failure."""
    ctx, group, files = run.ctx, outcome.group, [outcome.group.path]
    unsafe = outcome.safety is Safety.UNSAFE

    def timed(gate_fn):
        started = time.perf_counter()
        gate = gate_fn()
        if not gate.duration_s:
            gate.duration_s = time.perf_counter() - started
        outcome.gates.append(gate)
        return not gate.failed

    if not timed(lambda: verify_compiles(ctx, files, run.baseline.compile_errors)):
        return
    def ruff_gate():
        gate, outcome.ruff_counts = verify_ruff(ctx, files, run.ruff_now)
        return gate

    if not timed(ruff_gate):
        return

    def equivalence_gate():
        if group.rule.code not in run.equivalence:
            run.equivalence[group.rule.code] = verify_equivalence(ctx, group.rule, unsafe)
        gate, _versions = run.equivalence[group.rule.code]
        return GateResult(gate.name, gate.status, gate.detail, gate.duration_s)

    if not timed(equivalence_gate):
        return

    def tests_gate():
        gate, outcome.tests_after = verify_tests(ctx, run.baseline.tests)
        return gate

    if not timed(tests_gate):
        return

    def smoke_gate():
        gate, outcome.smoke_after = verify_smoke(ctx, run.baseline.smoke)
        return gate

    if not timed(smoke_gate):
        return

    def benchmark_gate():
        if group.rule.code not in run.patterns:
            run.patterns[group.rule.code] = measure_pattern(ctx, group.rule, unsafe)
        outcome.pattern = run.patterns[group.rule.code]
        return verify_benchmark(outcome.pattern, ctx.settings)

    timed(benchmark_gate)


def _seconds(value: float | None) -> str:
    if value is None:
        return "?"
    if value < 1e-3:
        return f"{value * 1e6:.3g} µs"
    if value < 1:
        return f"{value * 1e3:.3g} ms"
    return f"{value:.3g} s"


def measured(run: SessionRun, outcome: Outcome) -> dict:
    """The figures of a surviving group: the pattern and the user's own code."""
    data: dict = {}
    pattern = outcome.pattern or {}
    if "speedup" in pattern:
        data["pattern"] = {k: pattern.get(k) for k in (
            "size", "before_s", "after_s", "speedup", "before_spread", "after_spread",
            "repeats", "command")}
    if run.current_smoke is not None and outcome.smoke_after is not None:
        data["smoke"] = {"before": run.current_smoke.figures(), "after": outcome.smoke_after.figures()}
    if outcome.tests_after is not None:
        data["tests"] = {"before_s": round(run.current_tests.duration_s, 3),
                         "after_s": round(outcome.tests_after.duration_s, 3)}
    return data


def commit_message(group: Group, outcome: Outcome, figures: dict) -> str:
    rule = group.rule
    places = ", ".join(str(line["line"]) for line in outcome.lines)
    lines = [
        f"{rule.code} {rule.name}: {group.path}",
        "",
        (f"Rule {rule.code} ({rule.name}, {outcome.safety.value} fix) rewrote "
         f"{len(outcome.lines)} place(s) in {group.path} (line {places})."),
        "",
        "Measured:",
    ]
    pattern = figures.get("pattern")
    if pattern:
        lines.append(
            f"- pattern benchmark ({pattern['size']}; the pattern, not this code): "
            f"{_seconds(pattern['before_s'])} -> {_seconds(pattern['after_s'])} per call, "
            f"{pattern['speedup']:.2f}x, median of {pattern['repeats']}"
        )
        lines.append(f"  reproduce: {pattern['command']}")
    smoke = figures.get("smoke")
    if smoke:
        before, after = smoke["before"], smoke["after"]
        for key in ("samples_per_s", "wall_s"):
            if key in before and key in after:
                lines.append(f"- smoke {key}: {before[key]:g} -> {after[key]:g}")
    else:
        lines.append("- smoke run: not measured (no smoke command)")
    tests = figures.get("tests")
    if tests:
        lines.append(f"- test command: {tests['before_s']:.2f} s -> {tests['after_s']:.2f} s")
    lines += ["", "Gates: " + ", ".join(f"{g.name} {g.status}" for g in outcome.gates)]
    return "\n".join(lines) + "\n"


# -- report -------------------------------------------------------------------

def render_report(record: dict) -> str:
    try:
        from reports.session import render_markdown

        return render_markdown(record)
    except Exception as exc:  # noqa: BLE001 - the record must still be kept
        return (f"# kaizen session report\n\nThe Markdown report could not be rendered "
                f"({type(exc).__name__}: {exc}); the JSON record next to it holds everything.\n")


def _report_folder(worktree: Path, report_dir: str) -> Path | None:
    relative = Path(report_dir)
    if relative.is_absolute() or ".." in relative.parts:
        raise ConfigError(f"`report-dir` must be a folder inside the repository, got {report_dir!r}")
    folder = worktree / relative
    current = worktree
    for part in relative.parts:
        current = current / part
        if current.is_symlink():
            return None
    return folder


def _write_report(folder: Path, stem: str, record: dict) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    markdown = folder / f"{stem}.md"
    data = folder / f"{stem}.json"
    data.write_text(_json.dumps(record, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    markdown.write_text(render_report(record), encoding="utf-8")
    return markdown, data


# -- the session --------------------------------------------------------------

def resolve_settings(repo: Path, options: SessionOptions, settings: Settings | None) -> Settings:
    if settings is None:
        loaded, pyproject = load_settings(repo)
        settings = loaded if pyproject is not None and pyproject.parent == repo else Settings()
    return settings.replace(
        select=tuple(options.select) if options.select is not None else None,
        ignore=tuple(options.ignore) if options.ignore is not None else None,
        unsafe_fixes=options.unsafe_fixes,
        budget=options.budget,
        max_commits=options.max_commits,
        python=options.python,
    )


def _choose_rules(settings: Settings, rules: Sequence[type[Rule]] | None) -> list[type[Rule]]:
    from rules.registry import UnknownRule, select

    if rules is not None:
        return list(rules)
    try:
        return select(settings.select, settings.ignore)
    except UnknownRule as exc:
        raise UserError(str(exc), exit_code=2) from None


def _branch_name(repo: GitRepo, options: SessionOptions, settings: Settings, started) -> str:
    if options.branch:
        return options.branch
    name = f"{settings.branch_prefix}{_stamp(started)}"
    candidate, n = name, 1
    while repo.branch_exists(candidate):
        n += 1
        candidate = f"{name}-{n}"
    return candidate


def _summary(record: dict, record_path: str | None) -> dict:
    return {
        "repo": record["repo"],
        "base": record["base"],
        "branch": record["branch"],
        "status": record["status"],
        "stop_reason": record["stop_reason"],
        "dry_run": record["dry_run"],
        "commits": [{"sha": c["sha"], "rule": c["rule"], "name": c["name"], "files": c["files"],
                     "measured": c["measured"]} for c in record["commits"]],
        "reverted": [{"rule": r["rule"], "name": r["name"], "files": r["files"], "gate": r["gate"],
                      "reason": r["reason"]} for r in record["reverted"]],
        "report": record["report"],
        "record": record_path,
        "duration_s": record["duration_s"],
    }


def run_session(
    repo: Path,
    options: SessionOptions,
    settings: Settings | None = None,
    *,
    rules: Sequence[type[Rule]] | None = None,
) -> dict:
    """Run one session on ``repo``; see the module docstring. ``rules``
    replaces the catalogue (tests pass their own)."""
    started = _utc_now()
    clock = time.monotonic()
    repo_path = Path(repo).expanduser().resolve()
    git_repo = open_repository(repo_path)
    settings = resolve_settings(git_repo.root, options, settings)
    if settings.max_commits < 1:
        raise UserError("`max-commits` must be at least 1", exit_code=2)
    try:
        python = env.target_python(git_repo.root, settings.python)
    except FileNotFoundError as exc:
        raise UserError(str(exc), exit_code=2) from None
    chosen = _choose_rules(settings, rules)
    if options.branch is not None and (not git_repo.valid_branch_name(options.branch)
                                       or git_repo.branch_exists(options.branch)):
        raise UserError(f"`{options.branch}` is not a valid new branch name (or it already exists)",
                        exit_code=2)
    base_ref = options.base or "HEAD"
    try:
        git_repo.resolve(base_ref)
    except GitError as exc:
        raise UserError(str(exc), exit_code=2) from None
    secrets = env.sensitive_values()

    with _terminate_as_interrupt():
        workspace = preflight(git_repo, base_ref, started)
        try:
            record = _session(workspace, options, settings, python, chosen, started, clock)
        except GitError as exc:
            raise UserError(f"the session failed: {exc}") from None
        finally:
            cleanup(workspace)
    record = env.redact(record, secrets)
    return _summary(record, record.pop("_record_path", None))


def _new_record(workspace: Workspace, options: SessionOptions, settings: Settings, python: str,
                started) -> dict:
    return {
        "schema": SCHEMA_VERSION,
        "kaizen_version": __version__,
        "repo": str(workspace.repo.root),
        "base": {"ref": workspace.base_ref, "sha": workspace.base_sha},
        "branch": None,
        "started_at": _iso(started),
        "finished_at": None,
        "duration_s": None,
        "dry_run": options.dry_run,
        "status": "completed",
        "stop_reason": None,
        "settings": {
            "select": list(settings.select) if settings.select is not None else None,
            "ignore": list(settings.ignore),
            "unsafe_fixes": settings.unsafe_fixes,
            "test_command": list(settings.test_command),
            "smoke_command": list(settings.smoke_command) if settings.smoke_command else None,
            "smoke_tolerance": settings.smoke_tolerance,
            "budget_s": settings.budget,
            "max_commits": settings.max_commits,
            "python": python,
        },
        "environment": {},
        "baseline": {},
        "findings": {"total": 0, "fixable": 0, "by_rule": {}},
        "scan_errors": [],
        "commits": [],
        "reverted": [],
        "skipped": [],
        "advisories": [],
        "smoke": {"before": None, "after": None},
        "report": None,
    }


def _finish(record: dict, clock: float) -> None:
    record["finished_at"] = _iso(_utc_now())
    record["duration_s"] = round(time.monotonic() - clock, 2)


def _session(workspace: Workspace, options: SessionOptions, settings: Settings, python: str,
             rules: Sequence[type[Rule]], started, clock: float) -> dict:
    state_path = workspace.kaizen_dir / "state.json"
    remove_stale(workspace.repo, workspace.kaizen_dir)
    state = SessionState.load(state_path)
    record = _new_record(workspace, options, settings, python, started)

    done = state.processed.get(workspace.base_sha)
    if done and not options.dry_run:
        record["status"] = "nothing-to-do"
        record["stop_reason"] = (f"base {workspace.base_sha[:12]} was already processed by the "
                                 f"session of {done.get('finished_at')}"
                                 + (f" (branch {done['branch']})" if done.get("branch") else ""))
        _finish(record, clock)
        return record

    # -- preflight: the worktree --
    workspace.worktree_path.parent.mkdir(parents=True, exist_ok=True)
    worktree = workspace.repo.add_worktree(workspace.worktree_path, workspace.base_sha)
    workspace.worktree = worktree
    root = worktree.root
    scratch = Path(tempfile.mkdtemp(prefix="kaizen-session-"))
    try:
        ctx = GateContext(root, python, settings, scratch, env.ruff_executable())
        record["environment"] = env.describe(python, scratch, settings.check_timeout)

        # -- scan and plan (first, so a session with nothing to try skips the
        # baseline's test and smoke runs, which can take minutes) --
        files = python_files(worktree, settings)
        findings, errors, advisories = scan_worktree(root, files, rules, settings)
        record["scan_errors"] = errors
        record["advisories"] = advisories
        by_rule = Counter(f.code for f in findings)
        record["findings"] = {"total": len(findings), "fixable": sum(f.fixable for f in findings),
                              "by_rule": dict(sorted(by_rule.items()))}
        plan = make_plan(findings, {r.code: r for r in rules}, root,
                         unsafe_fixes=settings.unsafe_fixes, state=state)
        record["skipped"].extend(plan.skipped)

        # -- baseline --
        baseline = measure_baseline(ctx, files, run_commands=bool(plan.groups))
        record["baseline"] = baseline.to_record()
        record["smoke"]["before"] = baseline.smoke.figures() if baseline.smoke and baseline.smoke.ok else None

        run = SessionRun(ctx, worktree, baseline, settings.unsafe_fixes, baseline.tests,
                         baseline.smoke if baseline.smoke and baseline.smoke.ok else None,
                         Counter(baseline.ruff) if baseline.ruff is not None else None)
        identity = Identity(settings.bot_name, settings.bot_email)
        if not plan.groups:
            record["status"] = "nothing-to-do"
            record["stop_reason"] = "no fixable findings to try"

        # -- apply, verify, measure, commit or revert --
        for index, group in enumerate(plan.groups):
            stop = None
            if time.monotonic() - clock >= settings.budget:
                left = len(plan.groups) - index
                stop = ("budget-exhausted",
                        f"the time budget of {settings.budget:g} s ran out with {left} group(s) untried")
            elif len(record["commits"]) >= settings.max_commits:
                stop = ("max-commits", f"the session reached max-commits ({settings.max_commits})")
            if stop:
                record["status"], record["stop_reason"] = stop
                reason = "budget ran out" if stop[0] == "budget-exhausted" else "max-commits reached"
                for rest in plan.groups[index:]:
                    record["skipped"].extend(skipped_entry(f, reason) for f in rest.findings)
                break
            _try_group(run, group, record, state, identity, options.dry_run)

        record["smoke"]["after"] = run.current_smoke.figures() if run.current_smoke else None

        # -- report --
        _conclude(workspace, worktree, record, options, settings, identity, started, clock)
        if not options.dry_run:
            if record["status"] in ("completed", "nothing-to-do"):
                state.processed[workspace.base_sha] = {
                    "finished_at": record["finished_at"], "status": record["status"],
                    "branch": record["branch"]}
            state.save(state_path)
        return record
    finally:
        import shutil

        shutil.rmtree(scratch, ignore_errors=True)


def _try_group(run: SessionRun, group: Group, record: dict, state: SessionState,
               identity: Identity, dry_run: bool) -> None:
    original, outcome = apply_group(run, group)
    if outcome.not_applied:
        record["skipped"].extend(skipped_entry(f, outcome.not_applied) for f in group.findings)
        return
    if not outcome.gates:
        verify_group(run, outcome)
    failed = outcome.failed_gate
    if failed is not None:
        if dry_run:
            (run.ctx.worktree / group.path).write_bytes(original)
        else:
            run.worktree.reset_hard()
        record["reverted"].append({
            "rule": group.rule.code, "name": group.rule.name, "files": [group.path],
            "gate": failed.name, "reason": failed.detail, "diff": outcome.diff,
            "gates": [g.to_dict() for g in outcome.gates],
        })
        if not dry_run:
            state.reverted[group.key] = {"rule": group.rule.code, "path": group.path,
                                         "gate": failed.name, "reason": failed.detail,
                                         "at": _iso(_utc_now())}
        return
    figures = measured(run, outcome)
    message = commit_message(group, outcome, figures)
    sha = None if dry_run else run.worktree.commit([group.path], message, identity)
    record["commits"].append({
        "sha": sha, "rule": group.rule.code, "name": group.rule.name,
        "safety": outcome.safety.value, "files": [group.path], "lines": outcome.lines,
        "diff": outcome.diff, "message": message,
        "gates": [g.to_dict() for g in outcome.gates], "measured": figures,
    })
    if outcome.tests_after is not None:
        run.current_tests = outcome.tests_after
    if outcome.smoke_after is not None:
        run.current_smoke = outcome.smoke_after
    if outcome.ruff_counts is not None and run.ruff_now is not None:
        # The committed file is the new baseline for the next group's ruff gate.
        for key in [k for k in run.ruff_now if k[0] == group.path]:
            del run.ruff_now[key]
        run.ruff_now.update(outcome.ruff_counts)


def _conclude(workspace: Workspace, worktree: GitRepo, record: dict, options: SessionOptions,
              settings: Settings, identity: Identity, started, clock: float) -> None:
    """Write the report; on a real session with commits, commit it and create the branch."""
    stem = f"kaizen-{_stamp(started)}"
    keep = bool(record["commits"]) and not options.dry_run
    folder = _report_folder(worktree.root, settings.report_dir) if keep else None
    if folder is None:
        outside = Path(tempfile.mkdtemp(prefix="kaizen-report-"))
        _finish(record, clock)
        record["report"] = str(outside / f"{stem}.md")
        markdown, data = _write_report(outside, stem, env.redact(record, env.sensitive_values()))
        record["_record_path"] = str(data)
        if keep:
            record["stop_reason"] = (record["stop_reason"] or "") + " the report folder is a symlink, so the report was written outside the branch"
        return
    branch = _branch_name(workspace.repo, options, settings, started)
    record["branch"] = branch
    relative = Path(settings.report_dir) / f"{stem}.md"
    record["report"] = relative.as_posix()
    _finish(record, clock)
    clean = env.redact(record, env.sensitive_values())
    markdown, data = _write_report(folder, stem, clean)
    paths = [markdown.relative_to(worktree.root).as_posix(), data.relative_to(worktree.root).as_posix()]
    sha = worktree.commit(paths, f"kaizen session report {stem}\n\n{len(record['commits'])} change "
                          f"commit(s), {len(record['reverted'])} reverted.\n", identity)
    workspace.repo.create_branch(branch, sha)
    record["_record_path"] = data.relative_to(worktree.root).as_posix()
    if options.push:
        workspace.repo.push(options.push, branch)
