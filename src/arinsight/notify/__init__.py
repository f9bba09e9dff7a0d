"""Automation: overdue alerts, reminder e-mails, the monthly summary e-mail and the schedule.

Three commands sit on this package (docs/automation.md explains them for users):

- ``arinsight alerts --period P``: the invoices that crossed an overdue threshold in P, grouped per
  customer into a collections worklist (CSV + Excel) and one reminder e-mail per customer contact.
- ``arinsight email-report --period P``: the monthly summary e-mail to the stakeholders (KPI cards
  with their change, top overdue customers, high-risk customers, a link to the site, the KPI
  table attached as CSV).
- ``arinsight monthly [--period P]``: ``run`` + ``alerts`` + ``email-report`` for the previous
  calendar month, for cron, systemd timers and CI (:mod:`arinsight.monthly`, above the runner).

"Crossed a threshold in P" is defined by the period alone, so a re-run gives the same list: with
T the last day of P and T' the last day of the period before (T' = first day of P - 1 day), an
open invoice crosses threshold k when ``days_past_due(T) >= k`` and ``days_past_due(T') < k``,
where ``days_past_due(T') = days_past_due(T) - (T - T')``. Its reminder level is the highest
threshold crossed. Skipping a month's run skips that month's crossings: run the missed period.

Mail goes out through SMTP with settings from the environment only (``ARINSIGHT_SMTP_*``,
``ARINSIGHT_MAIL_FROM``; never in params or git). Every message is first written to
``reports/<period>/outbox/<name>.eml``; it moves to ``outbox/sent/`` only after the server accepted
it, and a line in the send log (``reports/notify_log.jsonl``) records its key (kind, period,
customer, level), so an unreachable server loses nothing and a re-run sends no duplicates unless
forced. ``--dry-run`` writes the .eml files and sends nothing.

Templates are Jinja2 files in ``arinsight/templates`` (user copies in ``email.template_dir`` win);
HTML templates autoescape every value, so data such as a customer named ``<b>x</b>`` shows as text.

The modules, from the bottom:

- :mod:`~arinsight.notify.setup`: the error, the params sections, the positions at T and the risk
  scores both commands read, and small value helpers;
- :mod:`~arinsight.notify.compose`: the messages (reminder, monthly report) built with the
  standard library's email package from the Jinja2 templates;
- :mod:`~arinsight.notify.outbox`: SMTP settings, the outbox of .eml files, sending, the send log,
  and :class:`~arinsight.notify.outbox.Delivery` (what both commands set up before sending);
- :mod:`~arinsight.notify.alerts`: ``arinsight alerts`` (crossings, worklist, reminders);
- :mod:`~arinsight.notify.report`: ``arinsight email-report`` (the monthly summary e-mail).

Every public name below is importable from ``arinsight.notify``.
"""

from __future__ import annotations

from arinsight.notify.alerts import DEFAULT_THRESHOLDS as DEFAULT_THRESHOLDS
from arinsight.notify.alerts import collections_worklist as collections_worklist
from arinsight.notify.alerts import overdue_crossings as overdue_crossings
from arinsight.notify.alerts import run_alerts as run_alerts
from arinsight.notify.compose import ARROWS as ARROWS
from arinsight.notify.compose import BAD as BAD
from arinsight.notify.compose import GOOD as GOOD
from arinsight.notify.compose import KEY_HEADER as KEY_HEADER
from arinsight.notify.compose import KPI_CARDS as KPI_CARDS
from arinsight.notify.compose import NEUTRAL as NEUTRAL
from arinsight.notify.compose import TEMPLATES_DIR as TEMPLATES_DIR
from arinsight.notify.compose import AddressCheck as AddressCheck
from arinsight.notify.compose import check_addresses as check_addresses
from arinsight.notify.compose import compose_reminder as compose_reminder
from arinsight.notify.compose import compose_report as compose_report
from arinsight.notify.compose import header_text as header_text
from arinsight.notify.compose import kpi_table as kpi_table
from arinsight.notify.compose import parse_addresses as parse_addresses
from arinsight.notify.compose import template_environment as template_environment
from arinsight.notify.outbox import DEFAULT_PORTS as DEFAULT_PORTS
from arinsight.notify.outbox import DRY_RUN_FROM as DRY_RUN_FROM
from arinsight.notify.outbox import ENV_CAFILE as ENV_CAFILE
from arinsight.notify.outbox import ENV_FROM as ENV_FROM
from arinsight.notify.outbox import ENV_HOST as ENV_HOST
from arinsight.notify.outbox import ENV_PASSWORD as ENV_PASSWORD
from arinsight.notify.outbox import ENV_PORT as ENV_PORT
from arinsight.notify.outbox import ENV_SECURITY as ENV_SECURITY
from arinsight.notify.outbox import ENV_TIMEOUT as ENV_TIMEOUT
from arinsight.notify.outbox import ENV_USER as ENV_USER
from arinsight.notify.outbox import SECURITY_MODES as SECURITY_MODES
from arinsight.notify.outbox import SendReport as SendReport
from arinsight.notify.outbox import SmtpSettings as SmtpSettings
from arinsight.notify.outbox import read_send_log as read_send_log
from arinsight.notify.outbox import send_outbox as send_outbox
from arinsight.notify.outbox import smtp_settings_from_env as smtp_settings_from_env
from arinsight.notify.outbox import write_outbox as write_outbox
from arinsight.notify.report import high_risk_customers as high_risk_customers
from arinsight.notify.report import run_email_report as run_email_report
from arinsight.notify.report import top_overdue_customers as top_overdue_customers
from arinsight.notify.setup import POSITION_COLUMNS as POSITION_COLUMNS
from arinsight.notify.setup import NotifyError as NotifyError

__all__ = [
    "TEMPLATES_DIR",
    "SECURITY_MODES",
    "DEFAULT_PORTS",
    "DRY_RUN_FROM",
    "ENV_HOST",
    "ENV_PORT",
    "ENV_SECURITY",
    "ENV_USER",
    "ENV_PASSWORD",
    "ENV_FROM",
    "ENV_CAFILE",
    "ENV_TIMEOUT",
    "KEY_HEADER",
    "DEFAULT_THRESHOLDS",
    "POSITION_COLUMNS",
    "ARROWS",
    "KPI_CARDS",
    "GOOD",
    "BAD",
    "NEUTRAL",
    "NotifyError",
    "AddressCheck",
    "check_addresses",
    "header_text",
    "SendReport",
    "SmtpSettings",
    "collections_worklist",
    "compose_reminder",
    "compose_report",
    "high_risk_customers",
    "kpi_table",
    "overdue_crossings",
    "parse_addresses",
    "read_send_log",
    "run_alerts",
    "run_email_report",
    "send_outbox",
    "smtp_settings_from_env",
    "template_environment",
    "top_overdue_customers",
    "write_outbox",
]
