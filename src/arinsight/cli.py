"""The ``arinsight`` command line.

Each subcommand is a thin wrapper around one function of the package. Every argument is checked
up front, before any work (a period is ``YYYY-MM``, ``YYYY-Qn`` or ``YYYY``; a date is
``YYYY-MM-DD``; counts are positive whole numbers), and every mistake a user can fix (a bad
argument, a bad parameter file, an unreadable source) is printed as one line starting with
``arinsight <command>: error:`` and exits with status 2; never a stack trace.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
from collections.abc import Sequence

from arinsight import __version__

DESCRIPTION = """\
Accounts-receivable analysis you can trace: reads your invoices, payments and customers from
CSV, Excel, SQL or UBL files with a mapping file, cleans them (every rejected row is kept with
its reason), and publishes monthly dashboards (receivables health, commissions, late-payment
risk, data quality) as a static website.

typical month end:
  arinsight check --params my_params.yaml      is my mapping right? (seconds, publishes nothing)
  arinsight run --period 2026-10 --params my_params.yaml
  arinsight kpis --period 2026-10              the numbers only, as JSON (no notebooks)
  arinsight site                               build the website in _site/
  arinsight alerts --period 2026-10 --dry-run  overdue reminders as .eml files
"""


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad argument in one line (and exit status 2) like every other
    user error, instead of the usage block."""

    def error(self, message: str) -> None:  # noqa: D102 - argparse's hook
        self.exit(2, f"{self.prog}: error: {one_line(message)} (see {self.prog} --help)\n")


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def one_line(text: str) -> str:
    """``text`` as one line for the terminal: white space (line breaks too) collapsed, any other
    control character (NUL, ESC...) written as its escape (``\\x00``), so a value from the
    command line or the data can neither break the line nor drive the terminal."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], " ".join(str(text).split()))


# --------------------------------------------------------------------------------------------
# argument types: each refuses a bad value with a sentence a finance user understands
# --------------------------------------------------------------------------------------------


def period_arg(text: str) -> str:
    """A reporting period: ``YYYY-MM`` (a month), ``YYYY-Qn`` (a quarter) or ``YYYY``."""
    from arinsight.ledger import period_bounds

    try:
        return period_bounds(text).label
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def month_arg(text: str) -> str:
    """A month ``YYYY-MM`` (backfills and the monthly chain run month by month)."""
    label = period_arg(text)
    if not (len(label) == 7 and label[4] == "-" and label[5:].isdigit()):
        raise argparse.ArgumentTypeError(f"{text!r}: expected a month YYYY-MM")
    return label


def date_arg(text: str) -> str:
    """A date ``YYYY-MM-DD``."""
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a date YYYY-MM-DD") from None


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: expected 1 or more")
    return value


def path_arg(text: str) -> str:
    """A file or folder path: any text a file system takes (checked when it is used), but never a
    NUL character, which no path can hold."""
    if "\x00" in text:
        raise argparse.ArgumentTypeError(f"{text!r}: a path cannot contain a NUL character")
    return text


def int_arg(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a whole number") from None


# --------------------------------------------------------------------------------------------
# commands
# --------------------------------------------------------------------------------------------


def _cmd_sample(args: argparse.Namespace) -> int:
    from arinsight.sample import write_sample

    manifest = write_sample(args.out, n_invoices=args.invoices, seed=args.seed)
    print(f"sample written to {args.out}: {manifest['rows']}")
    return 0


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


def _cmd_map(args: argparse.Namespace) -> int:
    from pathlib import Path

    from arinsight import mapper

    first = args.files[0] if args.files else "."
    out = args.out or str(
        (Path(first).expanduser().parent if "://" not in first else Path.cwd())
        / "sources.proposed.yaml"
    )
    proposal = mapper.propose(args.files, out=out, tables=args.table or ())
    if out == "-":
        sys.stdout.write(proposal.text)
        return 0
    written = mapper.write(proposal, out, force=args.force)
    print(mapper.summary(proposal, str(written)))
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
    from arinsight.monthly import run_monthly

    return run_monthly(
        args.period,
        dry_run=args.dry_run,
        params_files=args.params or [],
        regions=args.regions,
        jobs=args.jobs,
        site=args.site,
        force=args.force,
    )


def _cmd_match(args: argparse.Namespace) -> int:
    from arinsight.cashapp import run_match, summary_text

    run = run_match(
        args.statement,
        params_files=args.params or [],
        as_of=args.as_of,
        out_dir=args.out,
        processed_dir=args.processed,
        decisions_file=args.decisions,
    )
    print(summary_text(run))
    return 0


_REGION = re.compile(r"[^,/\\\x00-\x1f]{1,100}")


def kpis_args(args: argparse.Namespace) -> dict:
    """Every argument of ``arinsight kpis`` checked before any data is read (UserError)."""
    from pathlib import Path

    from arinsight import config
    from arinsight.engine.window import period_window
    from arinsight.errors import UserError
    from arinsight.periods import LABEL

    if not LABEL.fullmatch(args.period or ""):
        raise UserError(f"--period {args.period!r}: expected YYYY-MM (or YYYY-Qn, YYYY)")
    period = period_window(args.period)
    params = config.load_params(args.params or [])
    as_of = args.as_of or params.get("as_of")
    if as_of is not None:
        try:
            as_of = dt.date.fromisoformat(str(as_of)) if not isinstance(as_of, dt.date) else as_of
        except ValueError:
            raise UserError(f"--as-of {as_of!r}: expected a date YYYY-MM-DD") from None
        if not period.start <= as_of <= period.end:
            raise UserError(
                f"--as-of {as_of.isoformat()}: must lie in the period {args.period} "
                f"({period.start.isoformat()} .. {period.end.isoformat()})"
            )
    regions = params.get("regions")
    if args.regions is not None:
        text = args.regions.strip()
        if text.lower() == "all":
            regions = None
        else:
            regions = [r.strip() for r in text.split(",")]
            bad = [r for r in regions if not _REGION.fullmatch(r)]
            if bad or not regions:
                raise UserError(f"--regions {args.regions!r}: expected all or R1,R2,...")
    processed = Path(args.processed) if args.processed else config.PROCESSED_DIR
    engine = params.get("engine")
    if not engine and not processed.is_dir():
        raise UserError(f"--processed {processed}: no such folder")
    if args.out and args.out != "-" and not Path(args.out).resolve().parent.is_dir():
        raise UserError(f"--out {args.out}: its folder does not exist")
    params["as_of"] = as_of
    return {"period": args.period, "params": params, "regions": regions, "processed": processed}


def _cmd_kpis(args: argparse.Namespace) -> int:
    from pathlib import Path

    from arinsight.engine.duck import kpis_from_processed
    from arinsight.engine.results import kpis_json

    checked = kpis_args(args)
    results = kpis_from_processed(
        checked["processed"], checked["period"], checked["params"], checked["regions"]
    )
    text = kpis_json(results)
    if args.out and args.out != "-":
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def _params_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--params",
        action="append",
        type=path_arg,
        metavar="FILE",
        help="a parameter file merged over params/defaults.yaml (repeatable; later files win)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="arinsight",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"arinsight {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, summary: str, example: str) -> argparse.ArgumentParser:
        return sub.add_parser(
            name,
            help=summary,
            description=f"{summary}\n\nexample:\n  {example}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    p = command(
        "sample",
        "write the embedded sample ledger (CSV invoices, Excel customers, SQLite payments) "
        "and its sources file, to try arinsight without your own data",
        "arinsight sample --invoices 10000 --out data/sample",
    )
    p.add_argument("--invoices", type=positive_int, default=10_000, help="invoices (default 10000)")
    p.add_argument("--seed", type=int_arg, default=42, help="random seed (default 42)")
    p.add_argument(
        "--out", type=path_arg, default="data/sample", help="output folder (default data/sample)"
    )
    p.set_defaults(func=_cmd_sample)

    p = command(
        "check",
        "read and clean your data in memory and print the mapping report: columns mapped, rows "
        "kept and quarantined by reason, what will be n/a and why; publishes nothing",
        "arinsight check --params my_params.yaml",
    )
    _params_option(p)
    p.add_argument(
        "--json", type=path_arg, default=None, metavar="FILE", help="also write the report as JSON"
    )
    p.set_defaults(func=_cmd_check)

    p = command(
        "map",
        "propose a sources file from raw exports (CSV, Excel, a SQLite file or a database URL): "
        "encoding, delimiter, header row, each column's canonical field by name and content, "
        "date and number formats, with a comment on every guess that is unsure",
        "arinsight map exports/open_items.csv exports/customers.xlsx --out my_sources.yaml",
    )
    p.add_argument("files", nargs="+", type=path_arg, metavar="FILE", help="export files")
    p.add_argument(
        "--out",
        type=path_arg,
        default=None,
        help="the proposed sources file (default sources.proposed.yaml beside the first FILE; "
        "- prints it)",
    )
    p.add_argument(
        "--table",
        action="append",
        default=None,
        metavar="NAME",
        help="with a database: read only this table (repeatable; default every table)",
    )
    p.add_argument("--force", action="store_true", help="replace --out if it exists")
    p.set_defaults(func=_cmd_map)

    p = command(
        "run",
        "produce the reports of a period: ingest and clean once, then Receivables Health, "
        "Commission Analytics and Risk for every region and All",
        "arinsight run --period 2026-10 --params my_params.yaml",
    )
    p.add_argument("--period", type=period_arg, help="YYYY-MM, YYYY-Qn or YYYY")
    p.add_argument(
        "--as-of",
        dest="as_of",
        type=date_arg,
        help="snapshot date within the period (YYYY-MM-DD): balances at that date, flows from "
        "the period start to it (default: the period's last day)",
    )
    p.add_argument("--from", dest="from_period", type=month_arg, help="first month of a backfill")
    p.add_argument("--to", dest="to_period", type=month_arg, help="last month of a backfill")
    p.add_argument("--regions", default="all", help="all (default), or regions separated by commas")
    _params_option(p)
    p.add_argument(
        "--jobs", type=positive_int, default=None, help="notebooks run at once (default: cores)"
    )
    p.set_defaults(func=_cmd_run)

    p = command(
        "kpis",
        "the numbers only: the kpis.json content of All and every region in one call of the "
        "query engine (DuckDB over data/processed, or inside the database of `engine:` in the "
        "params), one JSON object per region; cash_forecast and high_risk_customers (from the "
        "risk model of `arinsight run`) are null here; money is exact to the cent",
        "arinsight kpis --period 2026-10 --regions North,South --out kpis.json",
    )
    p.add_argument("--period", required=True, help="YYYY-MM, YYYY-Qn or YYYY")
    p.add_argument(
        "--as-of", dest="as_of", default=None, help="T within the period (default: its last day)"
    )
    p.add_argument(
        "--regions", default=None, help="all, or R1,R2 (default: the `regions` parameter)"
    )
    _params_option(p)
    p.add_argument(
        "--processed",
        type=path_arg,
        default=None,
        help="folder of <table>.parquet (data/processed)",
    )
    p.add_argument(
        "--out", type=path_arg, default=None, help="output file (default: standard output)"
    )
    p.set_defaults(func=_cmd_kpis)

    p = command(
        "site",
        "build the website of every period reported (Quarto when installed, else the built-in "
        "renderer) into _site/",
        "arinsight site",
    )
    p.add_argument(
        "--output-dir", type=path_arg, default=None, help="where to write the site (default _site)"
    )
    p.add_argument(
        "--renderer",
        choices=["auto", "quarto", "builtin"],
        default="auto",
        help="auto (default): Quarto when on PATH, else built-in",
    )
    p.set_defaults(func=_cmd_site)

    p = command(
        "match",
        "cash application: match the credit lines of a bank statement (ISO 20022 camt.053 or "
        "camt.054, SWIFT MT940, BAI2 or CSV) to open invoices; writes a matching worklist and a "
        "payments file for ingest",
        "arinsight match --statement statements/2026-10.xml --params my_params.yaml",
    )
    p.add_argument(
        "--statement",
        required=True,
        type=path_arg,
        metavar="FILE",
        help="bank statement: camt.053/054 XML, MT940 (.sta), BAI2 (.bai) or CSV",
    )
    _params_option(p)
    p.add_argument(
        "--as-of",
        dest="as_of",
        type=date_arg,
        default=None,
        help="open invoices at this date (default: the statement's last booking date)",
    )
    p.add_argument("--out", type=path_arg, default=None, help="output folder (default data/cash)")
    p.add_argument(
        "--processed",
        type=path_arg,
        default=None,
        help="processed data folder (default data/processed)",
    )
    p.add_argument(
        "--decisions",
        type=path_arg,
        default=None,
        metavar="FILE",
        help="accept / assign / reject decisions on lines (CSV; default <out>/decisions.csv)",
    )
    p.set_defaults(func=_cmd_match)

    p = command(
        "alerts",
        "list the invoices that became overdue in a period (collections worklist as CSV and "
        "Excel) and write or send the reminder e-mails",
        "arinsight alerts --period 2026-10 --dry-run",
    )
    p.add_argument("--period", type=period_arg, required=True, help="YYYY-MM")
    p.add_argument(
        "--dry-run", action="store_true", help="write the e-mails as .eml files, send nothing"
    )
    p.add_argument(
        "--force", action="store_true", help="send reminders again even if they were sent"
    )
    _params_option(p)
    p.set_defaults(func=_cmd_alerts)

    p = command(
        "email-report",
        "send the monthly summary e-mail (KPIs with their change, top overdue and high-risk "
        "customers, a link to the site) to the stakeholders",
        "arinsight email-report --period 2026-10 --dry-run",
    )
    p.add_argument("--period", type=period_arg, required=True, help="YYYY-MM")
    p.add_argument(
        "--dry-run", action="store_true", help="write the e-mail as an .eml file, send nothing"
    )
    p.add_argument("--force", action="store_true", help="send the report again even if it was sent")
    _params_option(p)
    p.set_defaults(func=_cmd_email_report)

    p = command(
        "monthly",
        "the month-end chain for cron or CI: run, then alerts, then (--site) the website, then "
        "email-report, for the "
        "previous calendar month unless --period is given",
        "arinsight monthly --site --params my_params.yaml",
    )
    p.add_argument("--period", type=month_arg, default=None, help="YYYY-MM (default: last month)")
    p.add_argument("--regions", default="all", help="all (default), or regions separated by commas")
    p.add_argument(
        "--jobs", type=positive_int, default=None, help="notebooks run at once (default: cores)"
    )
    p.add_argument("--site", action="store_true", help="also build the website (after the alerts)")
    p.add_argument("--dry-run", action="store_true", help="write .eml files, send nothing")
    p.add_argument("--force", action="store_true", help="send e-mails again even if sent")
    _params_option(p)
    p.set_defaults(func=_cmd_monthly)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from arinsight.config import ConfigError
    from arinsight.errors import UserError

    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (UserError, ConfigError) as exc:
        message = one_line(exc)  # always one line
        print(f"arinsight {args.command}: error: {message}", file=sys.stderr)
        return 2
    except OSError as exc:  # a full disk, a folder without write permission...: one line
        where = f": {exc.filename}" if exc.filename else ""
        print(
            f"arinsight {args.command}: error: {one_line(exc.strerror or exc)}{one_line(where)}",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
