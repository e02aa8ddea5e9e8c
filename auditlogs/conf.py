"""Every `AUDITLOG_*` setting in one place: its default, how the environment sets it, and what it
means.

config/settings.py loads them all with `from_environment()` (which also applies the start-up rule
of the signing key). Code reads them one way:

    from auditlogs.conf import app_settings
    app_settings.METADATA_MAX_BYTES

which is Django's `settings.AUDITLOG_METADATA_MAX_BYTES` (so `override_settings` and pytest's
`settings` fixture work), or the default below where a project does not set it. The README's
configuration rows for these settings are `readme_rows()`, and a test keeps them equal.
"""

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_str


@dataclass(frozen=True)
class Setting:
    name: str
    default: object
    # How the environment variable of the same name is parsed; None: not set from the environment.
    read: Callable | None
    meaning: str
    # What the README shows as the default, where the value itself would not say it.
    shown_default: str | None = None

    def from_environment(self):
        return self.read(self.name, self.default) if self.read else self.default


SETTINGS = (
    # Recording.
    Setting("AUDITLOG_METADATA_MAX_BYTES", 8192, env_int,
            "the largest metadata an event may carry (bytes of JSON)"),
    Setting("AUDITLOG_TRUSTED_PROXY_COUNT", 0, env_int,
            "how many proxies of yours stand in front: the client IP is the entry they appended "
            "to `X-Forwarded-For` (never the leftmost), and their `X-Request-ID` is kept"),
    Setting("AUDITLOG_TRUSTED_PROXIES", (), env_list,
            "or: your proxies' networks (comma-separated CIDRs); the client IP is the rightmost "
            "`X-Forwarded-For` entry outside them, and their `X-Request-ID` is kept"),
    Setting("AUDITLOG_CHAIN_LOCK_TIMEOUT_MS", 2000, env_int,
            "how long the sequencer's sweep and the bulk writers wait for an organization's "
            "chain lock (PostgreSQL); `record()` never takes it"),
    Setting("AUDITLOG_LINK_BATCH_SIZE", 2000, env_int,
            "events the sequencer links onto a chain per short transaction"),
    Setting("AUDITLOG_LINK_IN_BACKGROUND", True, env_bool,
            "PostgreSQL: each process links what its requests recorded in a thread of its own "
            "right after their commits, so no request waits for its link (off: the request "
            "links after its commit itself; SQLite always does)"),
    Setting("AUDITLOG_LINK_DELAY_ALERT_SECONDS", 60, env_int,
            "an event waiting longer than this to be linked onto its chain makes `/readyz` "
            "fail (its `linking` check)"),
    # The page.
    Setting("AUDITLOG_PAGE_SIZE", 50, None, "events per page of the log"),
    Setting("AUDITLOG_SUPPORT_ACCESS_MINUTES", 60, env_int, "how long a support access lasts"),
    Setting("AUDITLOG_ROLLUP_BATCH", 20_000, env_int,
            "events counted per transaction into the volume chart's hourly rollups"),
    Setting("AUDITLOG_CHART_CATCH_UP", 20_000, env_int,
            "at most this many uncounted events are counted by the page itself before it draws "
            "the volume chart (for a deployment without a worker); 0 leaves it to the worker"),
    Setting("AUDITLOG_NEW_EVENTS_POLL_SECONDS", 15, None,
            "how often an open log page asks whether newer events exist"),
    # Integrity (docs/integrity.md).
    Setting("AUDITLOG_SIGNING_KEY", "", env_str,
            "the Ed25519 key that signs checkpoints (base64 of the 32-byte private key), kept "
            "outside the database and set only where checkpoints are signed (the checkpoint "
            "and retention commands, the worker); `python manage.py checkpoint_audit_log "
            "--generate-key` makes the first one on any configuration",
            shown_default="none"),
    Setting("AUDITLOG_SIGNING_KEY_FILE", "", env_str,
            "a file holding the signing key (that base64, or a PEM private key)",
            shown_default="in DEBUG only, a generated, git-ignored `.auditlog-signing-key`"),
    Setting("AUDITLOG_PUBLIC_KEY", "", env_str,
            "the signing key's public half (base64), all web processes need: they verify and "
            "publish checkpoints but cannot sign (`checkpoint_audit_log --public-key` prints "
            "it); with no key at all the system check `auditlogs.E001` stops `migrate` and "
            "`check`",
            shown_default="derived from the private key where one is set"),
    Setting("AUDITLOG_PUBLIC_KEY_FILE", "", env_str,
            "a file holding the public key (that base64, or a PEM public key)"),
    Setting("AUDITLOG_SIGNING_KEY_GENERATE", False, None,
            "set at start-up in DEBUG when no key is configured: the key file is generated on "
            "first use"),
    Setting("AUDITLOG_RETIRED_PUBLIC_KEYS", (), env_list,
            "public keys (base64, comma-separated) of retired signing keys, so old checkpoints "
            "still verify ([docs/integrity.md](docs/integrity.md))"),
    Setting("AUDITLOG_CHECKPOINT_WITNESS_FILE", "", env_str,
            "a file outside the database to which every checkpoint is also appended (one JSON "
            "line each); the verifier checks the chain against it too"),
    Setting("AUDITLOG_CHECKPOINT_MAX_AGE_HOURS", 24, env_int,
            "the page warns when the newest checkpoint is older than this while newer events "
            "exist"),
    Setting("AUDITLOG_CHECKPOINT_INTERVAL_MINUTES", 15, env_int,
            "how often the worker verifies what is new and signs a checkpoint of each chain"),
    Setting("AUDITLOG_VERIFY_PARALLEL_FROM", 50_000, env_int,
            "a chain with at least this many events to verify is verified in windows walked in "
            "parallel (by worker processes on PostgreSQL, in the verifying process on SQLite "
            "and inside a transaction); shorter chains one batch after the other"),
    Setting("AUDITLOG_VERIFY_WINDOW", 25_000, env_int,
            "events per window of a chain verified in parallel"),
    Setting("AUDITLOG_VERIFY_WORKERS", 0, env_int,
            "worker processes that verify windows of a chain (PostgreSQL); 0: one per CPU and "
            "one more"),
    Setting("AUDITLOG_PARTITION_MONTHS_AHEAD", 2, env_int,
            "months after this one whose partitions the worker keeps ready, daily (PostgreSQL)"),
    Setting("AUDITLOG_ALLOW_ERASING_HISTORY", False, env_bool,
            "lets `flush` and unapplying the audit migrations erase every organization's log, "
            "for a development database you mean to empty (test runs may anyway); never set it "
            "in production. `DEBUG` alone does not allow it"),
    # Getting events out (docs/integrations.md).
    Setting("AUDITLOG_BASE_URL", "http://127.0.0.1:8000", env_str, "links in alert e-mails"),
    Setting("AUDITLOG_EXPORT_CHUNK_SIZE", 5000, env_int,
            "rows per streamed export chunk (SQLite path)"),
    Setting("AUDITLOG_API_RATE_LIMIT", 120, env_int, "requests per API token per window"),
    Setting("AUDITLOG_API_RATE_WINDOW", 60, env_int, "the API rate limit's window, in seconds"),
    Setting("AUDITLOG_WEBHOOK_ALLOW_LOOPBACK", False, env_bool,
            "allow http and loopback webhook destinations (tests and development only)"),
    Setting("AUDITLOG_WEBHOOK_TIMEOUT", 10, env_int, "seconds a webhook delivery may take"),
    Setting("AUDITLOG_WEBHOOK_BACKOFF_BASE", 10, env_int,
            "seconds before retrying a failed delivery, doubled after each further failure"),
    Setting("AUDITLOG_WEBHOOK_BACKOFF_MAX", 3600, env_int,
            "the longest wait between two delivery attempts, in seconds"),
    Setting("AUDITLOG_WEBHOOK_PAUSE_AFTER", 24 * 3600, env_int,
            "seconds of failing after which a destination is paused (owners and admins get an "
            "e-mail)"),
    Setting("AUDITLOG_ALERT_BATCH_SIZE", 50, env_int, "events per alert e-mail"),
)
BY_NAME = {setting.name: setting for setting in SETTINGS}
PREFIX = "AUDITLOG_"


KEY_SETTINGS = (
    "AUDITLOG_SIGNING_KEY", "AUDITLOG_SIGNING_KEY_FILE", "AUDITLOG_PUBLIC_KEY",
    "AUDITLOG_PUBLIC_KEY_FILE",
)


def from_environment(*, debug: bool, base_dir: Path) -> dict[str, object]:
    """Every setting as config/settings.py loads it: from the environment where the environment
    may set it, else its default. Then the start-up rule of the keys: in DEBUG without any, a
    private key is generated into a git-ignored file on first use. With DEBUG off nothing is
    refused here: a web process needs only the public key, and `checkpoint_audit_log
    --generate-key` must run before any key exists; the system check auditlogs.E001
    (auditlogs/integrity/checks.py) refuses a configuration with no key at all.
    """
    values = {setting.name: setting.from_environment() for setting in SETTINGS}
    _check_trusted_proxies(values)
    _check_verification(values)
    if debug and not any(values[name] for name in KEY_SETTINGS):
        values["AUDITLOG_SIGNING_KEY_GENERATE"] = True
        values["AUDITLOG_SIGNING_KEY_FILE"] = str(base_dir / ".auditlog-signing-key")
    return values


def _check_trusted_proxies(values: dict) -> None:
    for network in values["AUDITLOG_TRUSTED_PROXIES"]:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError as error:
            raise ImproperlyConfigured(f"AUDITLOG_TRUSTED_PROXIES: {error}") from None
    if values["AUDITLOG_TRUSTED_PROXY_COUNT"] < 0:
        raise ImproperlyConfigured("AUDITLOG_TRUSTED_PROXY_COUNT must be 0 or more.")


def _check_verification(values: dict) -> None:
    if values["AUDITLOG_VERIFY_WINDOW"] < 1:
        raise ImproperlyConfigured("AUDITLOG_VERIFY_WINDOW must be 1 or more (events).")
    if values["AUDITLOG_VERIFY_WORKERS"] < 0:
        raise ImproperlyConfigured("AUDITLOG_VERIFY_WORKERS must be 0 (one per CPU) or more.")


class AppSettings:
    """`app_settings.NAME` is Django's `settings.AUDITLOG_NAME`, or its default when unset."""

    def __getattr__(self, name: str):
        setting = BY_NAME.get(PREFIX + name)
        if setting is None:
            raise AttributeError(f"There is no setting {PREFIX}{name} (see auditlogs/conf.py).")
        return getattr(settings, setting.name, setting.default)


app_settings = AppSettings()


def readme_rows() -> str:
    """The README configuration table's rows for the settings the environment may set."""
    return "\n".join(
        f"| `{setting.name}` | {_shown(setting)} | {setting.meaning} |"
        for setting in SETTINGS
        if setting.read
    )


def _shown(setting: Setting) -> str:
    if setting.shown_default is not None:
        return setting.shown_default
    if setting.default in ("", ()):
        return "none"
    if isinstance(setting.default, bool):
        return f"`{str(setting.default).lower()}`"
    return f"`{setting.default}`"
