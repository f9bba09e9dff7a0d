"""The scheduled job, above the runner, the site and the notifications: ``arinsight monthly``
runs ``run`` -> ``alerts`` -> (``site``) -> ``email-report`` for one period (by default the
previous calendar month), for cron, systemd timers and CI. The site is built after the alerts so
that its customer pages show the reminders and alerts of the period, and before the e-mail that
links to it."""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Sequence

from arinsight import notify
from arinsight.ledger import period_bounds


def previous_month(today: dt.date | None = None) -> str:
    """The calendar month before ``today`` as YYYY-MM (2026-11-02 -> 2026-10; 2026-01-15 -> 2025-12)."""
    day = today or dt.date.today()
    first = day.replace(day=1)
    return (first - dt.timedelta(days=1)).strftime("%Y-%m")


def run_monthly(
    period: str | None = None,
    *,
    dry_run: bool = False,
    params_files: Sequence[str | os.PathLike[str]] = (),
    regions: str = "all",
    jobs: int | None = None,
    site: bool = False,
    force: bool = False,
    today: dt.date | None = None,
) -> int:
    """The scheduled job: ``run`` -> ``alerts`` -> (``site``) -> ``email-report`` for one period.

    ``period`` defaults to the previous calendar month of ``today``. A failed run stops the chain
    (no e-mail about a broken report) and its exit status is returned; otherwise the worst exit
    status of the steps.
    """
    label = period or previous_month(today)
    period_bounds(label)
    from arinsight.runs import run_period  # lazy: the runner is optional for the other commands

    files = list(params_files)
    print(f"monthly {label}: run")
    status = int(run_period(period=label, regions=regions, params_files=files, jobs=jobs) or 0)
    if status:
        print(
            f"monthly {label}: the run failed (exit {status}); alerts and e-mail skipped",
            file=sys.stderr,
        )
        return status
    print(f"monthly {label}: alerts")
    a = notify.run_alerts(label, dry_run=dry_run, params_files=files, force=force)
    if site:  # after the alerts: the customer pages show the period's reminders
        from arinsight.site import build_site

        print(f"monthly {label}: site")
        build_site()
    print(f"monthly {label}: email-report")
    r = notify.run_email_report(label, dry_run=dry_run, params_files=files, force=force)
    return max(a, r)
