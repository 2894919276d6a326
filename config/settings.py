"""Settings, read once from the environment.

Every variable is listed with its default in README.md. A value that cannot be
parsed does not raise here: it is recorded in CONFIGURATION_ERRORS and reported
by the system checks in `config/checks.py`, so every command and the web
server refuse to start with a message naming the variable.
"""

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from config.environment import (
    parse_bool,
    parse_callout_credentials,
    parse_database_url,
    parse_float,
    parse_int,
    parse_list,
    parse_networks,
    read,
    sqlite_database,
)
from config.logging import configure_structlog, logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

CONFIGURATION_ERRORS: list[str] = []


def _setting[T](parse: Callable[[], T], fallback: T) -> T:
    try:
        return parse()
    except ValueError as error:
        CONFIGURATION_ERRORS.append(str(error))
        return fallback


env = os.environ


def _int(name: str, *, default: int, minimum: int = 0) -> int:
    return _setting(
        lambda: parse_int(name, read(env, name), default=default, minimum=minimum), default
    )


def _float(name: str, *, default: float, minimum: float = 0.0) -> float:
    return _setting(
        lambda: parse_float(name, read(env, name), default=default, minimum=minimum), default
    )


def _flag(name: str, *, default: bool) -> bool:
    return _setting(lambda: parse_bool(name, read(env, name), default=default), default)


DEBUG = _flag("DEBUG", default=False)

_secret_key = read(env, "SECRET_KEY") or ""
SECRET_KEY_FROM_ENVIRONMENT = bool(_secret_key)
if not _secret_key:
    # Development gets a fixed key so sessions survive restarts; production
    # gets a throwaway key only so that the system check can report the
    # missing variable instead of Django failing with a traceback.
    _secret_key = (
        "django-insecure-development-only-key-do-not-use-in-production"
        if DEBUG
        else secrets.token_urlsafe(50)
    )
SECRET_KEY = _secret_key

ALLOWED_HOSTS = parse_list(read(env, "ALLOWED_HOSTS"), default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = parse_list(read(env, "CSRF_TRUSTED_ORIGINS"), default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_tasks_db",
    "config.apps.ConfigConfig",
    "customers",
    "billing",
]

MIDDLEWARE = [
    "config.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES: dict[str, dict[str, Any]] = {
    "default": _setting(
        lambda: parse_database_url(
            read(env, "DATABASE_URL"),
            default_sqlite_path=VAR_DIR / "db.sqlite3",
            pool_size=_int("DATABASE_POOL_SIZE", default=0),
            prepared_statements=_flag("DATABASE_PREPARED_STATEMENTS", default=False),
        ),
        sqlite_database(VAR_DIR / "unusable-configuration.sqlite3"),
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "customers.Customer"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# The customer portal and Sold-To provisioning: a synced account's Sold-To
# contact becomes a customer, invited by email to set a password.
SOLD_TO_PROVISIONING_ENABLED = _flag("SOLD_TO_PROVISIONING_ENABLED", default=True)
# Invitations from provisioning are sent by a task worker, so that a sync or
# an import never waits for the mail server; off sends them at commit.
CUSTOMER_EMAILS_IN_BACKGROUND = _flag("CUSTOMER_EMAILS_IN_BACKGROUND", default=True)
_portal_base_url = read(env, "PORTAL_BASE_URL") or ""
PORTAL_BASE_URL_FROM_ENVIRONMENT = bool(_portal_base_url)
PORTAL_BASE_URL = (_portal_base_url or "http://localhost:8000").rstrip("/")
LOGIN_URL = "customers:sign-in"
LOGIN_REDIRECT_URL = "customers:billing-accounts"
LOGOUT_REDIRECT_URL = "customers:sign-in"

# Outgoing mail: SMTP when EMAIL_HOST is set, else one file per message under
# EMAIL_FILE_PATH (var/mail), never the console: the output goes to the logs,
# and an invitation carries a name, an address and a sign-in link.
_email_host = read(env, "EMAIL_HOST") or ""
MAILERS = {
    "default": (
        {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": _email_host,
                "port": _int("EMAIL_PORT", default=587, minimum=1),
                "username": read(env, "EMAIL_HOST_USER") or "",
                "password": env.get("EMAIL_HOST_PASSWORD", ""),
                "use_tls": _flag("EMAIL_USE_TLS", default=True),
                "timeout": 30,
            },
        }
        if _email_host
        else {
            "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "OPTIONS": {"file_path": read(env, "EMAIL_FILE_PATH") or str(VAR_DIR / "mail")},
        }
    )
}
DEFAULT_FROM_EMAIL = read(env, "DEFAULT_FROM_EMAIL") or "billing@localhost"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"

# Background work: django.tasks with the database backend by default, so one
# machine needs nothing but the database. TASKS_BACKEND swaps in another:
# `redis` (or its class path) queues tasks in Redis streams at TASKS_REDIS_URL.
# Either way the guarantees come from the PendingSync rows in the database;
# the backend only has to deliver each task at least once.
DATABASE_TASKS_BACKEND = "django_tasks_db.DatabaseBackend"
REDIS_TASKS_BACKEND = "django_tasks_redis.RedisTaskBackend"
_tasks_backend = read(env, "TASKS_BACKEND") or "database"
TASKS_BACKEND = {"database": DATABASE_TASKS_BACKEND, "redis": REDIS_TASKS_BACKEND}.get(
    _tasks_backend.lower(), _tasks_backend
)
TASKS_REDIS_URL = read(env, "TASKS_REDIS_URL") or "redis://127.0.0.1:6379/0"
TASKS_REDIS_KEY_PREFIX = read(env, "TASKS_REDIS_KEY_PREFIX") or "zuora_sync_tasks"
TASKS: dict[str, dict[str, Any]] = {
    "default": {
        "BACKEND": TASKS_BACKEND,
        "QUEUES": ["default"],
    }
}
if TASKS_BACKEND == REDIS_TASKS_BACKEND:
    INSTALLED_APPS.append("django_tasks_redis")
    TASKS["default"]["OPTIONS"] = {
        "REDIS_URL": TASKS_REDIS_URL,
        "REDIS_KEY_PREFIX": TASKS_REDIS_KEY_PREFIX,
        "REDIS_CONSUMER_GROUP": f"{TASKS_REDIS_KEY_PREFIX}_workers",
        # Finished tasks are only an audit trail here (PendingSync is the
        # record of work), so they need not stay for the default 30 days.
        "REDIS_COMPLETED_TASK_TTL": 86400,
    }

# Zuora REST API access.
ZUORA_SYNC_ENABLED = _flag("ZUORA_SYNC_ENABLED", default=True)
ZUORA_BASE_URL = read(env, "ZUORA_BASE_URL") or ""
ZUORA_CLIENT_ID = read(env, "ZUORA_CLIENT_ID") or ""
ZUORA_CLIENT_SECRET = read(env, "ZUORA_CLIENT_SECRET") or ""
ZUORA_ENTITY_ID = read(env, "ZUORA_ENTITY_ID") or ""
ZUORA_TIMEOUT = _float("ZUORA_TIMEOUT", default=30.0, minimum=1.0)
ZUORA_MAX_CONCURRENCY = _int("ZUORA_MAX_CONCURRENCY", default=24, minimum=1)

# How long one Zuora call may spend retrying (throttling, 5xx) before the sync
# gives the worker back and reschedules itself on the queue instead.
ZUORA_MAX_ATTEMPTS = _int("ZUORA_MAX_ATTEMPTS", default=3, minimum=1)
ZUORA_RETRY_DEADLINE = _float("ZUORA_RETRY_DEADLINE", default=15.0, minimum=1.0)

# Callouts from Zuora.
ZUORA_CALLOUT_CREDENTIALS = _setting(
    lambda: parse_callout_credentials(env.get("ZUORA_CALLOUT_CREDENTIALS")), ()
)

ZUORA_CALLOUT_REALM = read(env, "ZUORA_CALLOUT_REALM") or "zuora-callouts"
ZUORA_CALLOUT_HMAC_SECRET = env.get("ZUORA_CALLOUT_HMAC_SECRET", "")
ZUORA_CALLOUT_HMAC_HEADER = read(env, "ZUORA_CALLOUT_HMAC_HEADER") or "X-Zuora-Signature"
ZUORA_CALLOUT_ALLOWED_NETWORKS = _setting(
    lambda: parse_networks(
        "ZUORA_CALLOUT_ALLOWED_NETWORKS", read(env, "ZUORA_CALLOUT_ALLOWED_NETWORKS")
    ),
    (),
)
ZUORA_CALLOUT_MAX_BODY_BYTES = _int("ZUORA_CALLOUT_MAX_BODY_BYTES", default=16384, minimum=256)

# The sync queue: how often and how long a failing sync is retried before it
# is marked dead, and how long a worker may hold one before it is re-run.
SYNC_MAX_ATTEMPTS = _int("SYNC_MAX_ATTEMPTS", default=8, minimum=1)
SYNC_RETRY_BASE_SECONDS = _float("SYNC_RETRY_BASE_SECONDS", default=2.0)
SYNC_RETRY_MAX_SECONDS = _float("SYNC_RETRY_MAX_SECONDS", default=900.0)
# A lone request runs this long after it arrives, a pair SYNC_SETTLE_PAIR_SECONDS
# after the second (Zuora sends two callouts for some changes); once a third
# arrives first (a burst), the run waits SYNC_SETTLE_BURST_SECONDS after the
# latest one, up to the maximum after the first: bursts cost one fetch.
SYNC_SETTLE_SECONDS = _float("SYNC_SETTLE_SECONDS", default=0.03)
SYNC_SETTLE_BURST_SECONDS = _float("SYNC_SETTLE_BURST_SECONDS", default=0.1)
SYNC_SETTLE_PAIR_SECONDS = _float("SYNC_SETTLE_PAIR_SECONDS", default=0.05)
SYNC_SETTLE_MAX_SECONDS = _float("SYNC_SETTLE_MAX_SECONDS", default=0.3)
# Tasks one `sync_worker` process runs at once; they mostly wait for Zuora, so
# about ZUORA_MAX_CONCURRENCY (the client caps requests per process anyway).
# 24: two workers keep about 190 syncs a second in flight at Zuora's 200 ms
# (100 changes a second raise 110 to 140), with 48 Object Query requests at
# most, under a tenant's 80. Each thread holds a database connection, or, with
# DATABASE_POOL_SIZE, only while it claims and writes (not while Zuora answers).
SYNC_WORKER_THREADS = _int("SYNC_WORKER_THREADS", default=24, minimum=1)
SYNC_LEASE_SECONDS = _float("SYNC_LEASE_SECONDS", default=600.0, minimum=1.0)
SYNC_SWEEP_GRACE_SECONDS = _float("SYNC_SWEEP_GRACE_SECONDS", default=120.0)

# Reconciliation passes (`zuora_sync`): how far back an incremental pass
# re-reads before its watermark (Zuora does not bump updatedDate for every
# change, and several changes can share one second), how often `--watch`
# runs one, and how often the watch loop does a full comparison (0: never).
ZUORA_SYNC_LOOKBACK_SECONDS = _int("ZUORA_SYNC_LOOKBACK_SECONDS", default=300)
ZUORA_SYNC_WATCH_INTERVAL = _float("ZUORA_SYNC_WATCH_INTERVAL", default=300.0, minimum=1.0)
ZUORA_SYNC_FULL_EVERY = _float("ZUORA_SYNC_FULL_EVERY", default=86400.0)

LOG_LEVEL = (read(env, "LOG_LEVEL") or "INFO").upper()
LOG_FORMAT = (read(env, "LOG_FORMAT") or ("console" if DEBUG else "json")).lower()
if LOG_FORMAT not in {"json", "console"}:
    CONFIGURATION_ERRORS.append(f"LOG_FORMAT must be json or console; got {LOG_FORMAT!r}.")
configure_structlog()
LOGGING = logging_config(level=LOG_LEVEL, json=LOG_FORMAT == "json")

# Set when several processes (web workers, task workers) share one metrics
# directory; /metrics then adds up all of them. prometheus-client reads it too.
PROMETHEUS_MULTIPROC_DIR = read(env, "PROMETHEUS_MULTIPROC_DIR") or ""

if not DEBUG:
    SESSION_COOKIE_HTTPONLY = True
    CSRF_COOKIE_HTTPONLY = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"
