"""Settings for the Audit Logs dashboard, read from the environment.

A fresh checkout runs on SQLite in DEBUG with a development secret; production sets
DEBUG=false, SECRET_KEY, ALLOWED_HOSTS and DATABASE_URL (see .env.example).
"""

from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from auditlogs import conf as auditlog_settings
from config.env import cache_from_url, env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", True)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "django-insecure-development-only-key-never-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_filters",
    "django_htmx",
    "template_partials",
    "orgs",
    "projects",
    "auditlogs",
    "ninja",
    "integrations",
    "operations",
    "django_q",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files from the web process itself: compressed, with hashed names, cached forever.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "orgs.middleware.TwoFactorRequiredMiddleware",
    "auditlogs.recording.middleware.AuditContextMiddleware",
    # After the audit context, so that each request's log line carries its request id.
    "operations.middleware.RequestLogMiddleware",
    "config.middleware.ContentSecurityPolicyMiddleware",
    "config.unavailable.ServiceUnavailableMiddleware",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "orgs.context_processors.account_menu",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Writers wait for each other instead of failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    )
DATABASES["default"]["TEST"] = {"NAME": env_str("TEST_DATABASE_NAME") or None}
# The volume chart's rollup index carries its count as a non-key column on PostgreSQL (reads
# never touch the table); SQLite has no such columns and builds the same index without it.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

# The cache every process shares (rate limits, ...): Redis when CACHE_URL or REDIS_URL names
# one, else a table in the database (created by `migrate`), which needs no other service.
CACHES = {"default": cache_from_url(env_str("CACHE_URL") or env_str("REDIS_URL") or "db://",
                                    key_prefix=env_str("CACHE_KEY_PREFIX", "auditlogs"))}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "orgs.User"
AUTHENTICATION_BACKENDS = ["orgs.auth.EmailBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Sign-in throttling (orgs/sign_in_limits.py), counted in the shared cache across processes.
SIGN_IN_MAX_FAILURES_PER_ACCOUNT = env_int("SIGN_IN_MAX_FAILURES_PER_ACCOUNT", 5)
SIGN_IN_MAX_FAILURES_PER_ADDRESS = env_int("SIGN_IN_MAX_FAILURES_PER_ADDRESS", 30)
SIGN_IN_WINDOW_SECONDS = env_int("SIGN_IN_WINDOW_SECONDS", 900)

# Two-factor sign-in (orgs/two_factor.py): the name authenticator apps show.
OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", "Audit Logs")

# Invitations (orgs/invitations.py) and password reset links expire after this many days.
INVITATION_MAX_AGE_DAYS = env_int("INVITATION_MAX_AGE_DAYS", 7)
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_TIMEOUT", 3600)  # seconds

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT") or BASE_DIR / "staticfiles")
# Production serves what `collectstatic` wrote: gzipped copies, names carrying a hash of
# the content (so browsers may cache them for a year). Development serves the files as they are.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "config.storage.GzipManifestStaticFilesStorage"
    },
}
# In development whitenoise serves static/ as it is, looking again on every request.
WHITENOISE_AUTOREFRESH = DEBUG
WHITENOISE_USE_FINDERS = DEBUG

MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
# Sessions are kept in the database and read through the shared cache: a signed-in page is
# one cache read instead of a query (a write goes to both; signing out deletes both).
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# Security: safe defaults that production turns fully on with DEBUG=false.
SESSION_COOKIE_HTTPONLY = True
# SECURE_COOKIES=false and SECURE_SSL_REDIRECT=false only to try production mode over plain
# http on 127.0.0.1 (the production browser test and the load test do).
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# A load balancer asks over plain http.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY", False) else None
)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# The Audit Logs feature: every AUDITLOG_* setting, its default, its environment variable and its
# meaning are declared in auditlogs/conf.py, which also holds the start-up rule of the signing key
# (required when DEBUG is off; in DEBUG only, generated into .auditlog-signing-key on first use).
globals().update(auditlog_settings.from_environment(debug=DEBUG, base_dir=BASE_DIR))

DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "audit-logs@localhost")
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
# The SMTP server of the smtp backend (Django's settings of the same names).
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("Set EMAIL_USE_TLS (STARTTLS) or EMAIL_USE_SSL, not both.")

# The worker: `python manage.py qcluster` (django-q2) runs the jobs of operations/schedule.py on
# their schedules, with the database as its queue. A task a killed worker held is handed out
# again after `retry` seconds (longer than `timeout`), so nothing is lost. SQLite allows one
# writer at a time: one worker process there. On PostgreSQL two of them spend most of each
# minute in link_audit_events' sweeps and in delivery while a backlog remains, so four leave two
# for the other jobs (alerts, rollups, operators' requests, checkpoints) at every tick.
WORKER_PROCESSES = env_int(
    "WORKER_PROCESSES", 1 if DATABASES["default"]["ENGINE"].endswith("sqlite3") else 4
)
Q_CLUSTER = {
    "name": "auditlogs",
    "orm": "default",
    "workers": WORKER_PROCESSES,
    "timeout": 600,
    "retry": 660,
    "max_attempts": 3,
    "ack_failures": True,
    "catch_up": False,
    "poll": 1,
    "save_limit": 200,
    "label": "Worker tasks",
}
# /readyz (operations/health.py) answers 503 past any of these.
READYZ_MAX_HEARTBEAT_SECONDS = env_int("READYZ_MAX_HEARTBEAT_SECONDS", 300)
READYZ_MAX_DELIVERY_LAG_SECONDS = env_int("READYZ_MAX_DELIVERY_LAG_SECONDS", 900)
# 0: AUDITLOG_CHECKPOINT_MAX_AGE_HOURS, when the page itself warns.
READYZ_MAX_UNSIGNED_SECONDS = env_int("READYZ_MAX_UNSIGNED_SECONDS", 0)
READYZ_MIN_PARTITION_MONTHS_AHEAD = env_int("READYZ_MIN_PARTITION_MONTHS_AHEAD", 1)
# /metrics answers 404 unless this is set; Prometheus then sends it as a Bearer token.
METRICS_BEARER_TOKEN = env_str("METRICS_BEARER_TOKEN")

# One JSON object per line on stderr, each with the request id (or the worker task's id), the
# organization and the actor of the request or task it belongs to (operations/logs.py).
LOG_FORMAT = env_str("LOG_FORMAT", "text" if DEBUG else "json")
if LOG_FORMAT not in ("json", "text"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be 'json' or 'text', not {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "operations.logs.RequestContextFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": ["asctime", "levelname", "name", "message"],
            "datefmt": "%Y-%m-%dT%H:%M:%S%z",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            "timestamp": False,
        },
        "text": {"format": "%(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["context"],
            "formatter": "json" if LOG_FORMAT == "json" else "text",
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # Our per-request line replaces Django's and gunicorn's access logs.
        "django.server": {"level": "WARNING"},
        "django.request": {"level": "ERROR"},
    },
}
