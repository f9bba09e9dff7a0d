"""The ``arinsight`` command line (argparse: standard library, no extra dependency).

Each subcommand is a thin wrapper around one function of the package; errors that a user can fix
(bad parameters, bad input files) are printed as one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from arinsight import __version__


def _cmd_sample(args: argparse.Namespace) -> int:
    from arinsight.sample import write_sample

    manifest = write_sample(args.out, n_invoices=args.invoices, seed=args.seed)
    print(f"sample written to {args.out}: {manifest['rows']}")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    from arinsight.runs import run_period

    return run_period(
        period=args.period,
        as_of=args.as_of,
        regions=args.regions,
        params_files=args.params or [],
        jobs=args.jobs,
        from_period=args.from_period,
        to_period=args.to_period,
    )


def _cmd_check(args: argparse.Namespace) -> int:
    from arinsight.check import check
    from arinsight.files import write_json

    report = check(args.params or [])
    print(report.text())
    if args.json:
        write_json(args.json, report.as_dict())
    if not report.ok:
        print(f"arinsight check: error: {report.blocking}", file=sys.stderr)
        return 2
    return 0


def _cmd_site(args: argparse.Namespace) -> int:
    from arinsight.site import build_site

    out = build_site(output_dir=args.output_dir, renderer=args.renderer)
    print(f"site written to {out}; open {out / 'index.html'}")
    return 0


def _cmd_alerts(args: argparse.Namespace) -> int:
    from arinsight.notify import run_alerts

    return run_alerts(
        args.period, dry_run=args.dry_run, params_files=args.params or [], force=args.force
    )


def _cmd_email_report(args: argparse.Namespace) -> int:
    from arinsight.notify import run_email_report

    return run_email_report(
        args.period, dry_run=args.dry_run, params_files=args.params or [], force=args.force
    )


def _cmd_monthly(args: argparse.Namespace) -> int:
    from arinsight.notify import run_monthly

    return run_monthly(
        args.period,
        dry_run=args.dry_run,
        params_files=args.params or [],
        regions=args.regions,
        jobs=args.jobs,
        site=args.site,
        force=args.force,
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="arinsight", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"arinsight {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser(
        "sample", help="write the embedded sample (CSV + Excel + SQLite) and its sources file"
    )
    p.add_argument(
        "--invoices", type=int, default=10_000, help="number of invoices (default 10000)"
    )
    p.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    p.add_argument("--out", default="data/sample", help="output folder (default data/sample)")
    p.set_defaults(func=_cmd_sample)

    p = sub.add_parser("run", help="run the notebooks for a period")
    p.add_argument("--period", help="YYYY-MM")
    p.add_argument("--from", dest="from_period", help="first period of a backfill (YYYY-MM)")
    p.add_argument("--to", dest="to_period", help="last period of a backfill (YYYY-MM)")
    p.add_argument(
        "--as-of",
        dest="as_of",
        help="snapshot date within the period (YYYY-MM-DD): balances at that date, flows from "
        "the period start to it (default: the period's last day)",
    )
    p.add_argument("--regions", default="all", help="all, or a comma-separated list of regions")
    p.add_argument(
        "--params", action="append", help="parameter file merged over the defaults (repeatable)"
    )
    p.add_argument("--jobs", type=int, default=None, help="parallel notebook runs (default: cores)")
    p.set_defaults(func=_cmd_run)

    p = sub.add_parser(
        "check",
        help="ingest + clean only, in memory: the mapping report of your sources (publishes nothing)",
    )
    p.add_argument(
        "--params", action="append", help="parameter file merged over the defaults (repeatable)"
    )
    p.add_argument("--json", default=None, help="also write the report as JSON to this file")
    p.set_defaults(func=_cmd_check)

    p = sub.add_parser("site", help="render the website (Quarto when present, else built-in)")
    p.add_argument("--output-dir", default=None, help="where to write the site (default _site)")
    p.add_argument("--renderer", choices=["auto", "quarto", "builtin"], default="auto")
    p.set_defaults(func=_cmd_site)

    p = sub.add_parser("alerts", help="overdue alerts and reminders")
    p.add_argument("--period", required=True)
    p.add_argument("--dry-run", action="store_true", help="write .eml files instead of sending")
    p.add_argument("--force", action="store_true", help="send reminders again even if already sent")
    p.add_argument("--params", action="append")
    p.set_defaults(func=_cmd_alerts)

    p = sub.add_parser("email-report", help="the monthly summary e-mail")
    p.add_argument("--period", required=True)
    p.add_argument("--dry-run", action="store_true", help="write .eml files instead of sending")
    p.add_argument(
        "--force", action="store_true", help="send the report again even if already sent"
    )
    p.add_argument("--params", action="append")
    p.set_defaults(func=_cmd_email_report)

    p = sub.add_parser("monthly", help="run + alerts + email-report for a period (for cron/CI)")
    p.add_argument("--period", default=None, help="YYYY-MM (default: the previous calendar month)")
    p.add_argument("--regions", default="all", help="all, or a comma-separated list of regions")
    p.add_argument("--jobs", type=int, default=None, help="parallel notebook runs (default: cores)")
    p.add_argument("--site", action="store_true", help="also render the website after the run")
    p.add_argument("--dry-run", action="store_true", help="write .eml files instead of sending")
    p.add_argument("--force", action="store_true", help="send e-mails again even if already sent")
    p.add_argument("--params", action="append")
    p.set_defaults(func=_cmd_monthly)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from arinsight.config import ConfigError
    from arinsight.errors import UserError

    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (UserError, ConfigError) as exc:
        print(f"arinsight {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
