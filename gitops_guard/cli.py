"""The `gitops-guard` command: parse argv, build the run, hand the result to a reporter.

This is the one error boundary: `GuardError` becomes exit 2, Ctrl-C 130, anything else 3 with
a one-line pointer (the traceback only with --debug).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from gitops_guard import __version__
from gitops_guard.errors import GuardError

if TYPE_CHECKING:
    from gitops_guard.config import Config
    from gitops_guard.engine import RunResult
    from gitops_guard.staged import StagedIndex

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
FORMATS = ("text", "json", "sarif", "junit", "github")


def _jobs(value: str) -> int:
    try:
        jobs = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {value!r}") from None
    if jobs < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return jobs


def _check_list(value: str) -> list[str]:
    names = [name.strip() for name in value.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError("name at least one check")
    return names


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gitops-guard",
        description="Check a GitOps repository before Flux or Argo CD deploys it.")
    parser.add_argument("--version", action="version", version=f"gitops-guard {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    run_options, schema_options = _run_options(), _schema_options()
    policy_options, render_options = _policy_options(), _render_options()
    check = commands.add_parser(
        "check", parents=[run_options, schema_options, policy_options, render_options],
        help="run the checks on files and directories (default: the current one)",
        description="Run the enabled checks. Exit 0: clean; 1: findings at or above --fail-on; "
                    "2: usage or config error; 3: internal error.")
    check.add_argument("--checks", type=_check_list, metavar="A,B",
                       help="run only these checks (default: all, or `checks:` in the config)")
    commands.add_parser(
        "schema", parents=[run_options, schema_options, render_options],
        help="validate objects against the Kubernetes schemas (check --checks schema)",
        description="Validate every object against the schema of its kind: the bundled "
                    "Kubernetes schemas, CRDs found among the files, and schema locations.")

    secrets = commands.add_parser(
        "secrets", help="plaintext secrets: scan, and the baseline of known ones",
        description="Find plaintext credentials; keep a baseline of the ones already known.")
    secret_commands = secrets.add_subparsers(dest="secrets_command", metavar="COMMAND")
    secret_commands.required = True
    secret_commands.add_parser(
        "scan", parents=[run_options], help="find plaintext secrets (check --checks secrets)",
        description="Find plaintext credentials in manifests, values, env, kubeconfigs and text "
                    "files. Values are never printed.")
    baseline = secret_commands.add_parser(
        "baseline", help="create, update or audit the baseline of known secrets",
        description="The baseline lists known secrets by path, rule and SHA-256 of the value "
                    "(never the value, never a line number); they are reported as known, not "
                    "failed.")
    actions = baseline.add_subparsers(dest="baseline_action", metavar="ACTION")
    actions.required = True
    baseline_options = _baseline_options()
    for action, summary in (
            ("create", "write the baseline from what is found now"),
            ("update", "add new findings, drop entries no longer found, keep the reasons"),
            ("audit", "list stale entries and new findings; exit 1 if there are any")):
        actions.add_parser(action, parents=[baseline_options], help=summary,
                           description=summary[0].upper() + summary[1:] + ".")

    _add_sops_commands(commands)
    _add_policy_commands(commands, run_options, policy_options)
    _add_promotion_commands(commands)
    _add_install_hooks(commands)
    commands.add_parser("rules", parents=[_confine_options()],
                        help="list every rule id with its severity and summary")
    commands.add_parser("config-schema", help="print the JSON schema of .gitops-guard.yaml")
    _add_comfort_commands(commands)
    return parser


def _add_comfort_commands(commands: Any) -> None:
    explain = commands.add_parser(
        "explain", parents=[_confine_options()],
        help="what a rule checks, why it matters, how to fix or waive it",
        description="Explain a rule of the config found from the working directory: a "
                    "GG-* or PROMO rule, a built-in policy or one of the team's policies.")
    explain.add_argument("rule", metavar="RULE", help="a rule id (`gitops-guard rules`)")
    explain.add_argument("--config", metavar="FILE", help="config file")
    init = commands.add_parser(
        "init", help="write a commented .gitops-guard.yaml for this repository",
        description="Look at the repository (Flux, Argo CD, kustomize overlays, .sops.yaml, "
                    "CRDs) and write a commented .gitops-guard.yaml at its root (or DIR); "
                    "print a .pre-commit-config.yaml snippet. An existing config is kept "
                    "unless --force.")
    init.add_argument("directory", nargs="?", metavar="DIR",
                      help="where to write it (default: the git work tree's root, else the "
                           "working directory)")
    init.add_argument("--force", action="store_true", help="replace an existing config")


def _add_install_hooks(commands: Any) -> None:
    install = commands.add_parser(
        "install-hooks", help="install plain git pre-commit and pre-push hooks (no pre-commit "
                              "framework needed)",
        description="Write gitops-guard's pre-commit hook (check --staged, then the promotion "
                    "check when configured) and pre-push hook (the promotion check of each "
                    "pushed branch) into this repository's hooks directory (core.hooksPath "
                    "honoured). An existing hook that is not gitops-guard's is kept unless "
                    "--force.")
    install.add_argument("--force", action="store_true",
                         help="replace existing hooks that are not gitops-guard's (the old "
                              "one is kept as NAME.orig)")
    install.add_argument("--no-pre-push", action="store_true",
                         help="install only the pre-commit hook")


def _policy_options() -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(add_help=False)
    group = options.add_argument_group("policy check")
    group.add_argument("--profile", choices=("baseline", "restricted"),
                       help="Pod Security level where no Namespace label says otherwise: "
                            "restricted makes its controls errors (default: baseline)")
    group.add_argument("--pss-version", metavar="1.NN",
                       help="Pod Security Standards version (default: the newest)")
    return options


def _render_options() -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument("--render", choices=("kustomize", "none"),
                         help="kustomize: the schema and policy checks read what `kustomize "
                              "build` renders from each kustomization root, findings mapped "
                              "back to the source lines (default: `render:` in the config, "
                              "else none)")
    return options


def _add_policy_commands(commands: Any, run_options: argparse.ArgumentParser,
                         policy_options: argparse.ArgumentParser) -> None:
    policy = commands.add_parser(
        "policy", help="Pod Security Standards, best practices and your own CEL policies",
        description="Policies are CEL rules written as data (docs/policy-format.md): the "
                    "built-in pack and the files `policy.paths` in the config names.")
    actions = policy.add_subparsers(dest="policy_command", metavar="COMMAND")
    actions.required = True
    actions.add_parser("check", parents=[run_options, policy_options, _render_options()],
                       help="run only the policy check (check --checks policy)",
                       description="Evaluate every object against the active policies.")
    listing = actions.add_parser("list", parents=[_confine_options()],
                                 help="every active policy: id, level, pack, source")
    listing.add_argument("--config", metavar="FILE", help="config file")
    listing.add_argument("--all", action="store_true",
                         help="also the policies that are off")
    tests = actions.add_parser(
        "test", help="run policy tests: manifests with expected results",
        description="Run the test files (gitops-guard-test.yaml) found under each DIR: each "
                    "names policies, resources and the expected result of each policy on "
                    "each resource. Exit 1 when an expectation fails.")
    tests.add_argument("paths", nargs="+", metavar="DIR")
    tests.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)


def _add_promotion_commands(commands: Any) -> None:
    promotion = commands.add_parser(
        "promotion", help="versions move through the environments in order (git history)",
        description="Check from git history that every version reached each environment "
                    "only after the environments before it, and soaked there (the "
                    "`promotion:` section of the config; docs/promotion.md).")
    actions = promotion.add_subparsers(dest="promotion_command", metavar="COMMAND")
    actions.required = True
    report = _report_options()
    now = argparse.ArgumentParser(add_help=False, parents=[_confine_options()])
    now.add_argument("--now", metavar="TIME",
                     help="judge soak times as of this ISO 8601 time (default: now)")
    check = actions.add_parser(
        "check", parents=[report, now], help="check a change: the staged tree, or a branch",
        description="Without --head, check what is staged in the index against the deployed "
                    "history (a pre-commit hook). With --base/--head, check the net change "
                    "from their merge base to head (CI). Exit 0: clean; 1: findings; 2: "
                    "usage, config or history error (a shallow clone).")
    check.add_argument("--base", metavar="REV", help="the branch the change goes into")
    check.add_argument("--head", metavar="REV", help="the change's last commit")
    check.add_argument("--commit-msg", metavar="FILE",
                       help="the commit message being written (a commit-msg hook), for "
                            "override trailers")
    check.add_argument("--if-configured", action="store_true",
                       help="exit 0 with a note when the config has no `promotion:` section "
                            "(git hooks and CI templates shared by many repositories)")
    audit = actions.add_parser(
        "audit", parents=[report, _confine_options()],
        help="replay all history and report every violation with its commit",
        description="Replay the first-parent history of deploy_ref (or REF) and report "
                    "every promotion that broke the order, each with its commit.")
    audit.add_argument("ref", nargs="?", metavar="REF", help="default: deploy_ref, else HEAD")
    status = actions.add_parser(
        "status", parents=[now], help="each app's version per environment, and for how long",
        description="A table of what each environment runs at the tip of REF, from git "
                    "history.")
    status.add_argument("--ref", metavar="REV", help="default: deploy_ref, else HEAD")
    status.add_argument("--format", choices=("text", "json"), default="text")
    status.add_argument("--config", metavar="FILE", help="config file")
    status.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)


SOPS_FORMATS = ("yaml", "json", "dotenv", "ini", "binary")


def _add_sops_commands(commands: Any) -> None:
    sops = commands.add_parser(
        "sops", help="encrypt, decrypt, edit, rotate SOPS files (age, PGP); sops-compatible",
        description="Read and write SOPS files that the sops CLI, Flux and Argo CD plugins "
                    "decrypt. Keys: age recipients/identities as sops finds them "
                    "(SOPS_AGE_KEY, SOPS_AGE_KEY_FILE, ~/.config/sops/age/keys.txt, ...); PGP "
                    "through gpg.")
    actions = sops.add_subparsers(dest="sops_command", metavar="COMMAND")
    actions.required = True
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("file", metavar="FILE")
    common.add_argument("--config", metavar="FILE", help="the .sops.yaml to use (default: "
                        "$SOPS_CONFIG, else .sops.yaml from the working directory upwards)")
    common.add_argument("--input-type", choices=SOPS_FORMATS,
                        help="format of FILE (default: by extension; unknown: binary)")
    common.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    writes = argparse.ArgumentParser(add_help=False)
    target = writes.add_mutually_exclusive_group()
    target.add_argument("--in-place", "-i", action="store_true", help="replace FILE")
    target.add_argument("--output", metavar="PATH", help="write to PATH (default: stdout)")
    writes.add_argument("--output-type", choices=SOPS_FORMATS,
                        help="format to write (default: the input's)")
    keys = argparse.ArgumentParser(add_help=False)
    keys.add_argument("--age", metavar="RECIPIENTS",
                      help="comma-separated age recipients (default: $SOPS_AGE_RECIPIENTS, "
                           "else the .sops.yaml creation rule)")
    keys.add_argument("--pgp", metavar="FINGERPRINTS", help="comma-separated PGP fingerprints")
    chosen = keys.add_mutually_exclusive_group()
    for flag in ("encrypted-regex", "unencrypted-regex", "encrypted-suffix",
                 "unencrypted-suffix", "encrypted-comment-regex", "unencrypted-comment-regex"):
        chosen.add_argument(f"--{flag}", metavar="VALUE")
    keys.add_argument("--mac-only-encrypted", action="store_true", default=None,
                      help="the MAC covers only encrypted values")
    actions.add_parser("encrypt", parents=[common, writes, keys],
                       help="encrypt a plaintext file", description="Encrypt FILE. Refuses a "
                       "file that is already encrypted.")
    decrypt = actions.add_parser("decrypt", parents=[common, writes],
                                 help="decrypt to stdout (or -i / --output)",
                                 description="Decrypt FILE and verify its MAC.")
    decrypt.add_argument("--ignore-mac", action="store_true",
                         help="decrypt even if the MAC does not verify (loud warning)")
    edit = actions.add_parser("edit", parents=[common], help="decrypt into $EDITOR, re-encrypt",
                              description="Open the decrypted file in $SOPS_EDITOR or $EDITOR "
                              "(a private temp file, removed afterwards) and re-encrypt it with "
                              "the same data key: unchanged values keep their ciphertext.")
    edit.add_argument("--ignore-mac", action="store_true", help=argparse.SUPPRESS)
    rotate = actions.add_parser("rotate", parents=[common, writes],
                                help="re-encrypt everything under a new data key")
    rotate.add_argument("--add-age", metavar="RECIPIENTS", help="also wrap for these")
    rotate.add_argument("--rm-age", metavar="RECIPIENTS", help="stop wrapping for these")
    updatekeys = actions.add_parser(
        "updatekeys", parents=[common],
        help="wrap the data key for the recipients the .sops.yaml rule names now")
    updatekeys.add_argument("--yes", "-y", action="store_true", help="do not ask")
    keygen = actions.add_parser("keygen", help="create an age identity (0600) and print its "
                                "recipient")
    keygen.add_argument("--output", "-o", metavar="FILE",
                        help="write the identity here (default: stdout)")


def _confine_options() -> argparse.ArgumentParser:
    """For every command that reads a config (confine.py)."""
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument("--allow-outside-repo", action="store_true",
                         help="let the config name files outside its repository "
                              "(schema.crds, schema.locations, policy.paths, baseline, "
                              "promotion.overrides.approvals_file); refused by default")
    return options


def _baseline_options() -> argparse.ArgumentParser:
    options = argparse.ArgumentParser(add_help=False, parents=[_confine_options()])
    options.add_argument("paths", nargs="*", metavar="PATH",
                         help="what to scan (default: the config file's directory, else the "
                              "git work-tree root)")
    options.add_argument("--baseline", metavar="FILE", help="the baseline file (default: "
                         "`baseline:` in the config, else .gitops-guard-baseline.json in the "
                         "directory above)")
    options.add_argument("--config", metavar="FILE", help="config file")
    options.add_argument("--jobs", "-j", type=_jobs, default=os.cpu_count() or 1, metavar="N")
    options.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    return options


def _run_options() -> argparse.ArgumentParser:
    """Options shared by `check` and the per-check shortcuts."""
    check = argparse.ArgumentParser(add_help=False, parents=[_report_options(),
                                                             _confine_options()])
    check.add_argument("paths", nargs="*", metavar="PATH", help="files or directories")
    check.add_argument("--jobs", "-j", type=_jobs, default=os.cpu_count() or 1, metavar="N",
                       help="worker processes for large runs (default: number of CPUs)")
    check.add_argument("--staged", action="store_true",
                       help="check what is staged in the git index, not the working tree "
                            "(a git pre-commit hook); no PATH: every staged file")
    return check


def _report_options() -> argparse.ArgumentParser:
    """How a run reports: shared by every command that produces findings."""
    check = argparse.ArgumentParser(add_help=False)
    check.add_argument("--format", choices=FORMATS, default="text", help="report format")
    check.add_argument("--output", "-o", metavar="FILE", help="write the report to FILE")
    check.add_argument("--config", metavar="FILE", help="config file (default: "
                       "$GITOPS_GUARD_CONFIG, then .gitops-guard.yaml up to the git root)")
    check.add_argument("--fail-on", choices=("error", "warning"),
                       help="lowest severity that fails the run (default: error)")
    check.add_argument("--quiet", "-q", action="store_true",
                       help="print only findings that fail the run, no summary")
    check.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                       help="colour text output (auto: only on a terminal, unless NO_COLOR)")
    check.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    check.add_argument("--summary", action="store_true",
                       help="after the report, count findings per check and rule (on stderr "
                            "unless the report is text on stdout)")
    return check


def _schema_options() -> argparse.ArgumentParser:
    """The schema check's flags, for the commands that run it."""
    options = argparse.ArgumentParser(add_help=False)
    schema = options.add_argument_group("schema check")
    schema.add_argument("--kubernetes-version", metavar="VERSION",
                        help="Kubernetes version to validate against: 1.36, v1.36.2, 1.36.0 "
                             "(default: the newest bundled)")
    schema.add_argument("--strict", action=argparse.BooleanOptionalAction, default=None,
                        help="unknown fields are errors (default: on)")
    schema.add_argument("--offline", action=argparse.BooleanOptionalAction, default=None,
                        help="never download schemas; use only what is bundled or cached")
    schema.add_argument("--schema-location", action="append", metavar="LOCATION",
                        help="extra schema location (directory, file or URL template; "
                             "repeatable; tried before those in the config)")
    return options


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help, --version (0) or a usage error (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    debug = bool(getattr(args, "debug", False))
    try:
        if args.command == "rules":
            return _rules(sys.stdout, allow_outside=args.allow_outside_repo)
        if args.command == "config-schema":
            return _config_schema(sys.stdout)
        if args.command == "explain":
            return _explain(args.rule, args.config, allow_outside=args.allow_outside_repo)
        if args.command == "init":
            from gitops_guard.init_command import init

            return init(args.directory, args.force, Path.cwd(), sys.stdout)
        if args.command == "sops":
            return _sops(args)
        if args.command == "policy" and args.policy_command != "check":
            from gitops_guard.policy_command import policy_list, policy_test

            if args.policy_command == "list":
                return policy_list(args.config, args.all, sys.stdout,
                                   allow_outside=args.allow_outside_repo)
            return policy_test([Path(p) for p in args.paths], sys.stdout)
        if args.command == "promotion":
            return _promotion(args)
        if args.command == "install-hooks":
            from gitops_guard.install_hooks import install_hooks

            return install_hooks(Path.cwd(), force=args.force, pre_push=not args.no_pre_push,
                                 stream=sys.stdout)
        if args.command == "secrets" and args.secrets_command == "baseline":
            from gitops_guard.baseline_command import baseline_command

            return baseline_command(args.baseline_action, args.paths, args.baseline,
                                    args.config, args.jobs, sys.stdout, sys.stderr,
                                    debug=args.debug, allow_outside=args.allow_outside_repo)
        return _check(args)
    except GuardError as exc:
        print(f"gitops-guard: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("gitops-guard: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        if debug:
            from gitops_guard.errors import safe_traceback

            sys.stderr.write(safe_traceback(exc))
        print(f"gitops-guard: internal error ({type(exc).__name__}); this is a bug. "
              "Run again with --debug for the traceback and report it.", file=sys.stderr)
        return EXIT_INTERNAL


def _check(args: argparse.Namespace) -> int:
    from gitops_guard.config import find_config, load_config
    from gitops_guard.engine import run, select_checks
    from gitops_guard.findings import Severity

    cwd = Path.cwd()
    config = load_config(find_config(args.config, os.environ, cwd, args.paths), cwd,
                         allow_outside=args.allow_outside_repo)
    if args.fail_on:
        config = dataclasses.replace(config, fail_on=Severity(args.fail_on))
    render = getattr(args, "render", None)  # `secrets scan` renders nothing
    if render is not None:
        if render == "kustomize" and args.staged:
            raise GuardError("--render kustomize builds the working tree, not the index: it "
                             "cannot be combined with --staged")
        config = dataclasses.replace(config, render=None if render == "none" else render)
    # `secrets scan` has no schema flags.
    schema_flags = {key: value for key, value in (
        ("kubernetes_version", getattr(args, "kubernetes_version", None)),
        ("strict", getattr(args, "strict", None)),
        ("offline", getattr(args, "offline", None))) if value is not None}
    locations = getattr(args, "schema_location", None)
    if locations:
        # Flags are relative to where the command runs; the config's to the config file.
        flagged = [loc if loc.startswith(("http://", "https://", "/")) or loc == "default"
                   else str(cwd / loc) for loc in locations]
        schema_flags["locations"] = [*flagged, *config.section("schema").get("locations", [])]
    if schema_flags:
        config = config.with_settings("schema", schema_flags)
    policy_flags = {key: value for key, value in (
        ("profile", getattr(args, "profile", None)),
        ("pss_version", getattr(args, "pss_version", None))) if value is not None}
    if policy_flags:
        config = config.with_settings("policy", policy_flags)
    names = {"schema": ["schema"], "secrets": ["secrets"], "policy": ["policy"]}.get(args.command)
    names = names or args.checks
    checks = select_checks(names, config)
    index = None
    if args.staged:
        from gitops_guard.staged import read_index

        index = read_index(cwd)
        _warn_unstaged(index, config)
    from gitops_guard import progress

    bar = progress.for_run(sys.stderr, os.environ, args.quiet)
    try:
        result = run(args.paths, config, checks, cwd=cwd, jobs=args.jobs, staged=index,
                     progress=bar.update if bar is not None else None)
    finally:
        if bar is not None:
            bar.close()
    return _report(args, result)


def _warn_unstaged(index: StagedIndex, config: Config) -> None:
    from gitops_guard.baseline import FILE_NAME
    from gitops_guard.discovery import warn

    # The config and baseline are read from the working tree, even with --staged.
    for path in (config.path, config.baseline or config.root / FILE_NAME):
        if path is not None and index.has_unstaged_changes(path):
            warn(f"{path.name} has unstaged changes; --staged reads it from the working tree")


def _promotion(args: argparse.Namespace) -> int:
    from gitops_guard import promotion_command

    cwd = Path.cwd()
    source = promotion_command.ConfigSource(args.config, cwd, args.allow_outside_repo)
    if args.promotion_command == "status":
        return promotion_command.status(source, args.ref, args.format, args.now, sys.stdout)
    if args.promotion_command == "check" and args.if_configured and \
            not promotion_command.configured(source):
        print("gitops-guard: no `promotion:` section in the config; promotion check skipped",
              file=sys.stderr)
        return EXIT_OK
    if args.promotion_command == "audit":
        result = promotion_command.audit(source, args.ref)
    else:
        result = promotion_command.check(source, base=args.base, head=args.head,
                                         now=args.now, message_file=args.commit_msg)
    if args.fail_on:
        from gitops_guard.findings import Severity

        result.fail_on = Severity(args.fail_on)
    return _report(args, result)


def _report(args: argparse.Namespace, result: RunResult) -> int:
    from gitops_guard.reporters import ReportOptions, render

    to_file = args.output is not None
    color = args.format == "text" and not to_file and _use_color(args.color, sys.stdout)
    report = render(args.format, result, ReportOptions(color=color, quiet=args.quiet))
    if to_file:
        _write_atomically(Path(args.output), report)
    else:
        _write(sys.stdout, report)
    if args.summary:
        from gitops_guard.reporters import summary

        # Beside a text report on stdout; elsewhere stderr, so machine output stays valid.
        beside = args.format == "text" and not to_file
        _write(sys.stdout if beside else sys.stderr,
               ("\n" if beside and report else "") + summary.render(result))
    for error in result.internal_errors:
        print(f"gitops-guard: internal error in check {error.check} on {error.path} "
              f"({error.summary}); this is a bug, please report it", file=sys.stderr)
        if args.debug:
            print(error.details, file=sys.stderr)
    return result.exit_code


def _sops(args: argparse.Namespace) -> int:
    from gitops_guard.sops import commands
    from gitops_guard.sops.tree import Selector

    if args.sops_command == "keygen":
        return commands.keygen(Path(args.output) if args.output else None, sys.stdout,
                               sys.stderr)
    cwd = Path.cwd()

    def listed(value: str | None) -> tuple[str, ...]:
        return tuple(part.strip() for part in (value or "").split(",") if part.strip())

    selector_values = {name: getattr(args, name, None) or "" for name in (
        "encrypted_regex", "unencrypted_regex", "encrypted_suffix", "unencrypted_suffix",
        "encrypted_comment_regex", "unencrypted_comment_regex")}
    output = getattr(args, "output", None)
    request = commands.Request(
        file=Path(os.path.normpath(cwd / args.file)), cwd=cwd, environ=dict(os.environ),
        stdout=sys.stdout.buffer, stderr=sys.stderr,
        in_place=bool(getattr(args, "in_place", False)),
        output=Path(os.path.normpath(cwd / output)) if output else None,
        age=listed(getattr(args, "age", None)), pgp=listed(getattr(args, "pgp", None)),
        selector=Selector(**selector_values) if any(selector_values.values()) else None,
        mac_only_encrypted=getattr(args, "mac_only_encrypted", None),
        input_type=args.input_type, output_type=getattr(args, "output_type", None),
        ignore_mac=bool(getattr(args, "ignore_mac", False)), config=args.config,
        yes=bool(getattr(args, "yes", False)), add_age=listed(getattr(args, "add_age", None)),
        remove_age=listed(getattr(args, "rm_age", None)))
    run = {"encrypt": commands.encrypt, "decrypt": commands.decrypt, "edit": commands.edit,
           "rotate": commands.rotate, "updatekeys": commands.updatekeys}[args.sops_command]
    return run(request)


def _use_color(mode: str, stream: TextIO) -> bool:
    if mode != "auto":
        return mode == "always"
    if os.environ.get("NO_COLOR"):
        return False
    return hasattr(stream, "isatty") and stream.isatty()


def _write(stream: TextIO, text: str) -> None:
    try:
        stream.write(text)
    except UnicodeEncodeError:
        stream.write(text.encode("ascii", "backslashreplace").decode("ascii"))
    stream.flush()


def _write_atomically(path: Path, text: str) -> None:
    from gitops_guard import atomic

    try:
        atomic.write_text(path, text)
    except OSError as exc:
        raise GuardError(f"cannot write report: {exc.strerror}", path=str(path)) from None


def _rules(stream: TextIO, *, allow_outside: bool) -> int:
    from gitops_guard.catalog import rule_check
    from gitops_guard.config import find_config, load_config

    cwd = Path.cwd()
    config = load_config(find_config(None, os.environ, cwd), cwd, allow_outside=allow_outside)
    for rule in sorted(config.catalog.values(), key=lambda r: r.id):
        stream.write(f"{rule.id:<18} {rule.severity.value:<8} {rule_check(rule.id):<12} "
                     f"{rule.summary}\n")
    return EXIT_OK


def _explain(rule_id: str, config_file: str | None, *, allow_outside: bool) -> int:
    from gitops_guard.config import find_config, load_config
    from gitops_guard.explain import explain

    cwd = Path.cwd()
    config = load_config(find_config(config_file, os.environ, cwd), cwd,
                         allow_outside=allow_outside)
    return explain(rule_id, config, sys.stdout)


def _config_schema(stream: TextIO) -> int:
    import json

    from gitops_guard.config import schema

    stream.write(json.dumps(schema(), indent=2) + "\n")
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
