"""Command line: ``python -m pipeline COMMAND``.

Bad input (data files, parameters) is reported one line per problem on stderr with exit code 1 and
no traceback; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import logging
import os
import sys
from pathlib import Path

from pipeline.errors import InputError, Interrupted, StageError


def _positive(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline",
        description="Physician workforce planning for Danish psychiatry.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run one pipeline stage (what `dvc repro` calls)")
    run.add_argument("stage", help="stage name in dvc.yaml, e.g. ingest")
    run.add_argument(
        "--timeout",
        type=_positive,
        default=None,
        help="seconds a notebook cell may run (default 1800)",
    )

    validate = sub.add_parser("validate", help="check a data directory against the contract")
    validate.add_argument("directory", type=Path)
    validate.add_argument(
        "--params",
        type=Path,
        default=Path("."),
        help="project root whose params.yaml holds data.rename (default .)",
    )

    synth = sub.add_parser("synth", help="write a synthetic dataset in the contract's format")
    synth.add_argument("--out", type=Path, required=True, help="directory to write")
    synth.add_argument("--seed", type=int, required=True)
    synth.add_argument(
        "--trainees",
        type=_positive,
        default=None,
        help="number of trainees (default: one per filled I-post)",
    )
    synth.add_argument(
        "--contacts",
        type=_positive,
        default=None,
        help="also write contacts.parquet with about this many contact rows",
    )
    synth.add_argument(
        "--patient-scale",
        type=float,
        default=1.0,
        help="scale the patient counts (and contacts) by this factor, e.g. 0.01 for tests",
    )
    synth.add_argument("--first-year", type=int, default=2010)
    synth.add_argument("--last-year", type=int, default=2025)
    synth.add_argument(
        "--dialect",
        choices=["standard", "danish"],
        default="standard",
        help="danish: ';' separators, decimal commas, DD-MM-YYYY, Windows-1252",
    )
    synth.add_argument(
        "--scenario",
        choices=["default", "reversed"],
        default="default",
        help=(
            "default: calibrated to the published figures; reversed: the findings reversed "
            "(physicians grow faster than patients, posts filled, nobody on a combined track)"
        ),
    )

    deps = sub.add_parser(
        "deps", help="the package code each stage runs (from its imports), against dvc.yaml"
    )
    deps.add_argument("--write", action="store_true", help="put the derived lists into dvc.yaml")

    pseudo = sub.add_parser(
        "pseudonymise",
        help="replace CPR numbers in an extract with keyed pseudonyms (before ingest)",
        description=(
            "Copy IN_DIR to OUT_DIR with the CPR numbers in the id column replaced by keyed "
            "pseudonyms (HMAC-SHA256), or make a key with --new-key PATH."
        ),
    )
    pseudo.add_argument("in_dir", type=Path, nargs="?", metavar="IN_DIR")
    pseudo.add_argument("out_dir", type=Path, nargs="?", metavar="OUT_DIR")
    pseudo.add_argument(
        "--key-file", type=Path, metavar="PATH", help="the key (outside the project)"
    )
    pseudo.add_argument(
        "--column", default="person_id", help="the column holding CPR numbers (default person_id)"
    )
    pseudo.add_argument(
        "--new-key", type=Path, metavar="PATH", help="write a fresh private key to PATH and stop"
    )

    sub.add_parser("environment-yml", help="print environment.yml generated from the lock")
    sub.add_parser(
        "kernel", help="register the project's Jupyter kernel in this environment (for JupyterLab)"
    )

    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code = _main(args)
    if args.command == "run" and argv is None:  # the process is the stage's: end it now
        exit_without_teardown(code)
    return code


def exit_without_teardown(code: int) -> None:
    """End the process as ``sys.exit(code)`` would, without Python's teardown of its modules.

    A stage's runner has imported papermill, nbconvert, pandas, ... (about a thousand modules):
    tearing them down takes 0.3-0.6 s of every stage, after its files are written and closed and
    its kernel ended. The exit handlers still run and the standard streams are flushed.
    """
    atexit._run_exitfuncs()  # CPython's own: what exit runs first (logging's flush among them)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


def _main(args: argparse.Namespace) -> int:
    # Progress goes to stderr; `validate` keeps it quiet so its output is only the problems.
    level = logging.WARNING if args.command in ("validate", "kernel") else logging.INFO
    logging.basicConfig(level=level, format="%(message)s", stream=sys.stderr)
    try:
        return _dispatch(args)
    except InputError as exc:
        for line in exc.problems:
            print(line, file=sys.stderr)
        return 1
    except StageError as exc:
        print(exc, file=sys.stderr)
        return 1
    except OSError as exc:
        # A file the user can fix (permissions, a full disk): one line, no traceback.
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"{where}{exc.strerror or exc}; check the path and its permissions", file=sys.stderr)
        return 1
    except Interrupted as exc:
        print(f"interrupted ({exc}); the stage's outputs were removed", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def _dispatch(args: argparse.Namespace) -> int:
    # Each command imports what it needs, so `--help` and `run` do not load pandas and friends.
    if args.command == "run":
        from pipeline.runner import install_signal_handlers, run_stage

        install_signal_handlers()
        run_stage(args.stage, timeout=args.timeout)
        return 0
    if args.command == "validate":
        from pipeline.data.ingest import read_dataset, summary
        from pipeline.params import DEFAULTS, PARAMS_FILE, check, load_params

        params = load_params(args.params) if (args.params / PARAMS_FILE).exists() else DEFAULTS
        check(params)  # every stage's rules that need no data, before reading anything
        data = params["data"]
        dataset = read_dataset(
            args.directory,
            data["rename"],
            contacts_tolerance=data["contacts_tolerance"],
            duckdb_memory_limit=data["duckdb_memory_limit"],
        )
        check(params, years=dataset.tables["patients"]["year"].unique().tolist())
        print(summary(dataset, args.directory))
        return 0
    if args.command == "synth":
        from pipeline.data.synth import SynthConfig, write_synthetic

        config = SynthConfig(
            seed=args.seed,
            first_year=args.first_year,
            last_year=args.last_year,
            trainees=args.trainees,
            patient_scale=args.patient_scale,
            contacts=args.contacts,
            scenario=args.scenario,
        )
        write_synthetic(args.out, config, dialect=args.dialect)
        print(f"wrote a synthetic dataset to {args.out}")
        return 0
    if args.command == "deps":
        from pipeline.stages import code_deps_report, write_code_deps

        if args.write:
            changed = write_code_deps()
            print(f"dvc.yaml: updated {', '.join(changed)}" if changed else "dvc.yaml: up to date")
            return 0
        problems = [
            f"dvc.yaml: stages.{name}.deps: {what} {', '.join(files)}"
            for name, (missing, extra) in code_deps_report().items()
            for what, files in (("missing", missing), ("not run by the stage:", extra))
            if files
        ]
        if problems:
            raise InputError([*problems, "run `python -m pipeline deps --write` to fix dvc.yaml"])
        print("dvc.yaml: every stage lists exactly the code it runs")
        return 0

    if args.command == "pseudonymise":
        return _pseudonymise(args)
    if args.command == "environment-yml":
        from pipeline.environment import environment_yml

        sys.stdout.write(environment_yml(Path("requirements.lock")))
        return 0
    if args.command == "kernel":
        from pipeline.environment import install_kernel

        print(f"registered the kernel in {install_kernel()}")
        return 0
    raise AssertionError(args.command)


def _pseudonymise(args: argparse.Namespace) -> int:
    from pipeline.data.pseudonymise import new_key, pseudonymise_dir

    usage = (
        "usage: python -m pipeline pseudonymise IN_DIR OUT_DIR --key-file PATH [--column NAME]"
        " | python -m pipeline pseudonymise --new-key PATH"
    )
    if args.new_key is not None:
        if args.in_dir or args.out_dir or args.key_file:
            raise InputError(f"pseudonymise: --new-key makes a key and nothing else; {usage}")
        new_key(args.new_key)
        print(
            f"wrote a new key to {args.new_key} (readable by you only); keep it outside the "
            "project with the CPR extracts, and never with the pseudonymised data"
        )
        return 0
    if args.in_dir is None or args.out_dir is None or args.key_file is None:
        raise InputError(f"pseudonymise: IN_DIR, OUT_DIR and --key-file are needed; {usage}")
    summary = pseudonymise_dir(args.in_dir, args.out_dir, args.key_file, args.column)
    print(summary)
    print(f"check it with: python -m pipeline validate {args.out_dir}")
    return 0
