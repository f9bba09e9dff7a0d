"""Sending: the SMTP settings from the environment, the outbox of .eml files (a message moves to
``outbox/sent/`` only once the server accepted it) and the send log that keeps re-runs from
sending twice.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import functools
import hashlib
import json
import os
import smtplib
import ssl
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from arinsight import config, dunning
from arinsight.dunning import CompanyProfile
from arinsight.files import command_lock
from arinsight.ledger import Period, period_bounds
from arinsight.notify.compose import (
    EMAIL_RE,
    KEY_HEADER,
    POLICY,
    domain_of,
    reminder_key,
    template_environment,
)
from arinsight.notify.setup import NotifyError, as_text, params_section, safe_name

SECURITY_MODES = ("none", "starttls", "ssl")

DEFAULT_PORTS = {"none": 25, "starttls": 587, "ssl": 465}

DRY_RUN_FROM = "arinsight@localhost"

ENV_HOST = "ARINSIGHT_SMTP_HOST"

ENV_PORT = "ARINSIGHT_SMTP_PORT"

ENV_SECURITY = "ARINSIGHT_SMTP_SECURITY"

ENV_USER = "ARINSIGHT_SMTP_USER"

ENV_PASSWORD = "ARINSIGHT_SMTP_PASSWORD"

ENV_FROM = "ARINSIGHT_MAIL_FROM"

ENV_CAFILE = "ARINSIGHT_SMTP_CAFILE"

ENV_TIMEOUT = "ARINSIGHT_SMTP_TIMEOUT"


@dataclass(frozen=True)
class SmtpSettings:
    """How to reach the SMTP server (from the environment only: :func:`smtp_settings_from_env`)."""

    host: str
    port: int
    security: str = "starttls"
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    mail_from: str = ""
    cafile: str | None = None
    timeout: float = 30.0


@dataclass
class SendReport:
    """What one sending pass did: files sent (now in outbox/sent) and files kept, with the reason."""

    sent: list[Path] = field(default_factory=list)
    failed: dict[Path, str] = field(default_factory=dict)
    refused: dict[Path, dict[str, str]] = field(default_factory=dict)


def smtp_settings_from_env(environ: Mapping[str, str] | None = None) -> SmtpSettings:
    """Read ARINSIGHT_SMTP_HOST/_PORT/_SECURITY/_USER/_PASSWORD and ARINSIGHT_MAIL_FROM.

    SECURITY is ``none``, ``starttls`` (default) or ``ssl`` (implicit TLS); PORT defaults to 25,
    587 or 465 accordingly. USER and PASSWORD go together. Optional: ARINSIGHT_SMTP_CAFILE (a CA
    bundle for a private relay's certificate) and ARINSIGHT_SMTP_TIMEOUT (seconds, default 30).
    """
    env = os.environ if environ is None else environ
    host = (env.get(ENV_HOST) or "").strip()
    if not host:
        raise NotifyError(f"{ENV_HOST} is not set: set the SMTP settings or use --dry-run")
    security = (env.get(ENV_SECURITY) or "starttls").strip().lower()
    if security not in SECURITY_MODES:
        raise NotifyError(
            f"{ENV_SECURITY}={security!r}: expected one of {', '.join(SECURITY_MODES)}"
        )
    port_text = (env.get(ENV_PORT) or "").strip()
    try:
        port = int(port_text) if port_text else DEFAULT_PORTS[security]
    except ValueError:
        raise NotifyError(f"{ENV_PORT}={port_text!r}: expected a port number") from None
    if not 0 < port < 65536:
        raise NotifyError(f"{ENV_PORT}={port}: expected a port number 1-65535")
    user = env.get(ENV_USER) or None
    password = env.get(ENV_PASSWORD) or None
    if bool(user) != bool(password):
        raise NotifyError(f"{ENV_USER} and {ENV_PASSWORD} must be set together")
    timeout_text = (env.get(ENV_TIMEOUT) or "").strip()
    try:
        timeout = float(timeout_text) if timeout_text else 30.0
    except ValueError:
        raise NotifyError(f"{ENV_TIMEOUT}={timeout_text!r}: expected seconds") from None
    return SmtpSettings(
        host=host,
        port=port,
        security=security,
        user=user,
        password=password,
        mail_from=mail_from_env(env, dry_run=False),
        cafile=env.get(ENV_CAFILE) or None,
        timeout=timeout,
    )


def write_outbox(messages: Iterable[tuple[str, EmailMessage]], outbox: str | Path) -> list[Path]:
    """Write each (file stem, message) to ``outbox/<stem>.eml`` (replacing an unsent copy).

    The files carry no Date or Message-ID (those are added when sending) and MIME boundaries
    derived from the content, so a dry run for the same data writes byte-identical files.
    """
    folder = Path(outbox)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for stem, msg in messages:
        path = folder / f"{safe_name(stem)}.eml"
        tmp = path.with_suffix(".eml.tmp")
        tmp.write_bytes(_with_fixed_boundaries(msg).as_bytes(policy=POLICY))
        tmp.replace(path)
        paths.append(path)
    return paths


def send_outbox(
    paths: Sequence[str | Path],
    settings: SmtpSettings,
    log_path: str | Path,
) -> SendReport:
    """Send .eml files; each accepted one moves to ``sent/`` beside it and is logged.

    A message stays where it is (for a retry) when the server refuses it or the connection drops;
    the reason is in the report. A server that cannot be reached or refuses the login raises
    :class:`NotifyError` before anything is sent. Date and Message-ID are added at sending time.
    """
    files = [Path(p) for p in paths]
    report = SendReport()
    if not files:
        return report
    client = _connect(settings)
    try:
        for i, path in enumerate(files):
            msg = _read_eml(path)
            if msg["Date"] is None:
                msg["Date"] = formatdate(localtime=True)
            if msg["Message-ID"] is None:
                msg["Message-ID"] = make_msgid(domain=domain_of(settings.mail_from))
            try:
                refused = client.send_message(msg)
            except smtplib.SMTPRecipientsRefused as exc:
                report.failed[path] = f"every recipient refused: {_smtp_reasons(exc.recipients)}"
                continue
            except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
                report.failed[path] = f"refused by the server: {exc}"
                _rset(client)
                continue
            except (smtplib.SMTPException, OSError) as exc:
                for rest in files[i:]:
                    report.failed[rest] = f"connection lost: {exc}"
                break
            sent_path = _move_to_sent(path, msg)
            if refused:
                report.refused[sent_path] = {k: _smtp_reason(v) for k, v in refused.items()}
            _append_log(log_path, _log_record(msg, sent_path, refused))
            report.sent.append(sent_path)
    finally:
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            client.close()
    return report


def read_send_log(log_path: str | Path) -> set[str]:
    """The keys already sent, from the JSON-lines send log (a missing log is empty)."""
    path = Path(log_path)
    if not path.exists():
        return set()
    keys = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            keys.add(str(json.loads(line)["key"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise NotifyError(f"{path}: line {number}: not a send-log record ({exc})") from None
    return keys


def log_skipped(log_path: str | Path, skipped: Iterable[Mapping[str, Any]]) -> int:
    """Record reminders skipped (kind ``skipped``: customer, period, level, ``reason`` code such
    as ``invalid_email`` and ``detail``) in the send log, once per key
    ``skipped:reminder:<period>:<customer>:<level>``; returns how many were new."""
    done = read_send_log(log_path)
    new = 0
    for rec in skipped:
        key = "skipped:" + reminder_key(rec["period"], rec["customer_id"], rec["level"])
        if key in done:
            continue
        at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        _append_log(log_path, {**rec, "key": key, "kind": "skipped", "skipped_at": at})
        done.add(key)
        new += 1
    return new


def deliver(
    paths: list[Path], settings: SmtpSettings | None, log_path: Path, outbox: Path, dry_run: bool
) -> int:
    if dry_run or settings is None:
        print(f"dry run: {len(paths)} message(s) written to {outbox}, nothing sent")
        return 0
    if not paths:
        print("nothing to send")
        return 0
    try:
        report = send_outbox(paths, settings, log_path)
    except NotifyError as exc:
        raise NotifyError(
            f"{exc}; nothing was lost: {len(paths)} message(s) stay in {outbox} - "
            "re-run the same command to retry"
        ) from None
    print(
        f"sent {len(report.sent)} message(s) via {settings.host}:{settings.port}; copies in {outbox / 'sent'}"
    )
    for path, refused in report.refused.items():
        print(f"warning: {path.name}: some recipients refused: {refused}", file=sys.stderr)
    for path, reason in report.failed.items():
        print(f"not sent, kept in the outbox: {path.name}: {reason}", file=sys.stderr)
    return 1 if report.failed else 0


def _connect(s: SmtpSettings) -> smtplib.SMTP:
    where = f"SMTP server {s.host}:{s.port} ({s.security})"
    context = ssl.create_default_context(cafile=s.cafile) if s.security != "none" else None
    try:
        if s.security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                s.host, s.port, timeout=s.timeout, context=context
            )
        else:
            client = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
    except ssl.SSLCertVerificationError as exc:
        raise NotifyError(f"{where}: certificate not trusted ({exc}); set {ENV_CAFILE}") from None
    except (OSError, smtplib.SMTPException) as exc:
        raise NotifyError(f"cannot reach {where}: {exc}") from None
    try:
        client.ehlo()
        if s.security == "starttls":
            if not client.has_extn("starttls"):
                raise NotifyError(f"{where}: the server does not offer STARTTLS")
            client.starttls(context=context)
            client.ehlo()
        if s.user:
            if s.security == "none":
                print(
                    f"warning: {where}: login without TLS sends the password in clear",
                    file=sys.stderr,
                )
            client.login(s.user, s.password or "")
    except NotifyError:
        client.close()
        raise
    except smtplib.SMTPAuthenticationError as exc:
        client.close()
        raise NotifyError(
            f"{where}: login refused for user {s.user!r}: {exc.smtp_code} {as_text(exc.smtp_error)}"
        ) from None
    except smtplib.SMTPNotSupportedError as exc:
        client.close()
        raise NotifyError(f"{where}: {exc} (many servers offer AUTH only after STARTTLS)") from None
    except ssl.SSLCertVerificationError as exc:
        client.close()
        raise NotifyError(f"{where}: certificate not trusted ({exc}); set {ENV_CAFILE}") from None
    except (OSError, smtplib.SMTPException) as exc:
        client.close()
        raise NotifyError(f"{where}: session failed: {exc}") from None
    return client


def log_path_for(email: Mapping[str, Any], reports: Path) -> Path:
    configured = email.get("send_log")
    return config.resolve_path(configured) if configured else reports / "notify_log.jsonl"


def mail_from_env(environ: Mapping[str, str] | None, *, dry_run: bool) -> str:
    env = os.environ if environ is None else environ
    value = (env.get(ENV_FROM) or "").strip()
    if not value:
        if dry_run:
            return DRY_RUN_FROM
        raise NotifyError(f"{ENV_FROM} is not set: the sender address comes from the environment")
    name, addr = parseaddr(value)
    if "\n" in value or "\r" in value or not EMAIL_RE.match(addr or ""):
        raise NotifyError(f"{ENV_FROM}={value!r}: not an e-mail address")
    return value


def _read_eml(path: Path) -> EmailMessage:
    with path.open("rb") as fh:
        return BytesParser(policy=POLICY).parse(fh)


def _with_fixed_boundaries(msg: EmailMessage) -> EmailMessage:
    """A copy of ``msg`` whose multipart boundaries are a hash of its content (not random)."""
    out = copy.deepcopy(msg)
    digest = hashlib.sha256()
    for part in out.walk():
        if not part.is_multipart():
            digest.update(part.as_bytes(policy=POLICY))
    token = digest.hexdigest()[:24]
    multiparts = [part for part in out.walk() if part.is_multipart()]
    for i, part in enumerate(multiparts):
        part.set_boundary(f"==arinsight-{token}-{i}==")
    return out


def _move_to_sent(path: Path, msg: EmailMessage) -> Path:
    sent_dir = path.parent / "sent"
    sent_dir.mkdir(parents=True, exist_ok=True)
    target = sent_dir / path.name
    target.write_bytes(msg.as_bytes(policy=POLICY))
    path.unlink()
    return target


def _log_record(msg: EmailMessage, sent_path: Path, refused: Mapping[str, Any]) -> dict[str, Any]:
    key = str(msg[KEY_HEADER] or "")
    extra = {}
    if msg["X-Arinsight-Level"] is not None:  # a reminder: its dunning level and invoices
        extra = {
            "level": int(str(msg["X-Arinsight-Level"])),
            "invoices": [unquote(i) for i in str(msg["X-Arinsight-Invoices"] or "").split()],
        }
    recipients = [a.addr_spec for h in ("To", "Cc") if msg[h] for a in msg[h].addresses]
    return {
        "key": key,
        "kind": key.split(":", 1)[0],
        "to": recipients,
        "refused": sorted(refused),
        "subject": str(msg["Subject"]),
        "message_id": str(msg["Message-ID"]),
        "file": str(sent_path),
        "sent_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        **extra,
    }


def _append_log(log_path: str | Path, record: Mapping[str, Any]) -> None:
    path = Path(log_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(record, sort_keys=True) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def _rset(client: smtplib.SMTP) -> None:
    with contextlib.suppress(smtplib.SMTPException, OSError):
        client.rset()


def _smtp_reason(value: Any) -> str:
    code, text = value if isinstance(value, tuple) else (None, value)
    return f"{code} {as_text(text)}".strip()


def _smtp_reasons(recipients: Mapping[str, Any]) -> str:
    return "; ".join(f"{addr}: {_smtp_reason(v)}" for addr, v in sorted(recipients.items()))


@dataclass
class Delivery:
    """What ``arinsight alerts`` and ``arinsight email-report`` set up alike: the period, the
    merged params, their ``email`` section, the reporting currency and the reports folder; then,
    each on first use (so errors come in the order the commands met them before), the SMTP
    settings (none for a dry run), the sender, the templates, the company profile and the send
    log; and the outbox of the period their messages are written to and sent from."""

    period: Period
    params: dict[str, Any]
    email: dict[str, Any]
    currency: str
    reports: Path
    dry_run: bool
    environ: Mapping[str, str] | None

    @classmethod
    def start(
        cls,
        period: str,
        params_files: Sequence[str | os.PathLike[str]],
        reports_dir: str | Path | None,
        dry_run: bool,
        environ: Mapping[str, str] | None,
    ) -> Delivery:
        p = period_bounds(period)
        params = config.load_params(params_files)
        email = params_section(params, "email")
        currency = str(params.get("reporting_currency") or "USD")
        reports = Path(reports_dir) if reports_dir else config.REPORTS_DIR
        return cls(p, params, email, currency, reports, dry_run, environ)

    @functools.cached_property
    def settings(self) -> SmtpSettings | None:
        return None if self.dry_run else smtp_settings_from_env(self.environ)

    @functools.cached_property
    def mail_from(self) -> str:
        if self.settings:
            return self.settings.mail_from
        return mail_from_env(self.environ, dry_run=True)

    @functools.cached_property
    def env(self):
        return template_environment(self.email.get("template_dir"))

    @functools.cached_property
    def profile(self) -> CompanyProfile:
        return dunning.company_profile(self.params)

    @functools.cached_property
    def log_path(self) -> Path:
        return log_path_for(self.email, self.reports)

    @property
    def outbox(self) -> Path:
        return self.reports / self.period.label / "outbox"

    def lock(self, command: str):
        """The lock of the send log (``.<send log>.lock`` beside it), held while a command reads
        the log, writes the outbox and sends: two ``alerts`` or ``email-report`` at once would
        both find nothing sent and both send (:func:`arinsight.files.command_lock`: the second
        waits, then finds the messages in the log)."""
        return command_lock(self.log_path.with_name(f".{self.log_path.name}.lock"), command)

    def write(self, messages: Iterable[tuple[str, EmailMessage]]) -> list[Path]:
        """The messages as .eml files in the outbox (see :func:`write_outbox`)."""
        return write_outbox(messages, self.outbox)

    def send(self, paths: list[Path]) -> int:
        """Send the written ``paths`` (nothing on a dry run); 0, or 1 when one was refused."""
        return deliver(paths, self.settings, self.log_path, self.outbox, self.dry_run)
