"""Parsing of environment values into settings.

Only `config/settings.py` calls these; they raise `ValueError` with a message
meant for the operator, and settings turns those into system-check errors.
"""

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dj_database_url

from config.pool import ThrottledCheck

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off", ""})


def parse_bool(name: str, raw: str | None, *, default: bool) -> bool:
    """Read a yes/no flag; anything unrecognised is an error, not silently false."""
    if raw is None:
        return default
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"{name} must be one of 1/0, true/false, yes/no, on/off; got {raw!r}.")


def parse_list(raw: str | None, *, default: list[str]) -> list[str]:
    """Split a comma-separated value, dropping blanks."""
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def parse_int(name: str, raw: str | None, *, default: int, minimum: int = 0) -> int:
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be an integer; got {raw!r}.") from None
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}; got {value}.")
    return value


def parse_float(name: str, raw: str | None, *, default: float, minimum: float = 0.0) -> float:
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number; got {raw!r}.") from None
    if value < minimum:
        raise ValueError(f"{name} must be at least {minimum}; got {value}.")
    return value


# How long a thread waits for a pooled connection (all in use, or the database
# unreachable) before its request fails with a database error (a callout: 503).
POOL_TIMEOUT_SECONDS = 5.0
POOL_CHECK_INTERVAL_SECONDS = 1.0
# psycopg prepares a statement on a connection once it has run this many
# times there (psycopg's own default, which Django turns off).
PREPARE_THRESHOLD = 5
CUSTOM_PLANS = "-c plan_cache_mode=force_custom_plan"
POSTGRESQL = "django.db.backends.postgresql"


def parse_database_url(
    raw: str | None,
    *,
    default_sqlite_path: Path,
    pool_size: int = 0,
    prepared_statements: bool = False,
) -> dict[str, Any]:
    """Turn `DATABASE_URL` into a Django DATABASES entry (SQLite file by default).

    `pool_size` > 0 (PostgreSQL only) gives the process a pool of at most that
    many connections, shared by its threads: a thread holds one only while
    it serves a request, instead of keeping its own open for a minute.

    On PostgreSQL, parameters are bound on the server: the client no longer
    quotes every value into the statement's text (an account sync: 8.3 →
    7.5 million instructions), and arrays go in binary (`billing/sync/upsert.py`).

    With `prepared_statements` (off by default), a statement a connection
    has run five times is prepared there, so that PostgreSQL no longer
    parses it each time: 16 % less of its CPU per synced change, but a full
    import ran about a fifth slower, for reasons not found yet. It is still
    planned for each run's values (`plan_cache_mode`): a generic plan, made
    once for any values, cannot use a partial index such as the task
    queue's, nor tell a lookup of one account from one of thousands, and
    scanned whole tables instead. A pooler in transaction mode cannot keep
    prepared statements (PgBouncer before 1.21) nor pass the startup option.
    """
    config = _database(raw, default_sqlite_path=default_sqlite_path)
    if config["ENGINE"] == POSTGRESQL:
        options = config.setdefault("OPTIONS", {})
        options["server_side_binding"] = True
        options["prepare_threshold"] = PREPARE_THRESHOLD if prepared_statements else None
        if prepared_statements:
            given = options.get("options", "")
            options["options"] = f"{given} {CUSTOM_PLANS}".strip()
    if pool_size:
        engine = config["ENGINE"]
        if engine != POSTGRESQL:
            raise ValueError(
                f"DATABASE_POOL_SIZE applies to PostgreSQL only, not {engine}; unset it."
            )
        # Django returns a pooled connection at the end of each request (it
        # refuses persistent connections with a pool); the pool checks a
        # connection before handing it out, at most once a second each.
        config["CONN_MAX_AGE"] = 0
        config.setdefault("OPTIONS", {})["pool"] = {
            "min_size": 1,
            "max_size": pool_size,
            "timeout": POOL_TIMEOUT_SECONDS,
            "check": ThrottledCheck(POOL_CHECK_INTERVAL_SECONDS),
        }
    return config


def _database(raw: str | None, *, default_sqlite_path: Path) -> dict[str, Any]:
    url = raw.strip() if raw else ""
    if not url:
        return sqlite_database(default_sqlite_path)
    try:
        config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    except ValueError as error:
        # dj-database-url's message names the scheme but never echoes the password.
        raise ValueError(f"DATABASE_URL cannot be parsed: {error}") from None
    engine = config.get("ENGINE", "")
    if not engine:
        raise ValueError("DATABASE_URL names no database engine.")
    if engine == "django.db.backends.sqlite3":
        name = str(config.get("NAME") or "")
        if not name or name == ":memory:":
            raise ValueError(
                "DATABASE_URL names an in-memory SQLite database, which the web process "
                "and the task worker cannot share; use sqlite:////absolute/path.db."
            )
        return sqlite_database(Path(name))
    if not config.get("NAME"):
        raise ValueError("DATABASE_URL names no database (the path after the host is empty).")
    return config


def sqlite_database(path: Path) -> dict[str, Any]:
    """SQLite tuned for one web process and one worker writing at once."""
    # A fresh clone has no var/ yet; SQLite creates the file but not folders.
    path.parent.mkdir(parents=True, exist_ok=True)
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        # A file, not memory, so that tests can run real worker processes on
        # it; one per test run, so that runs side by side never share one.
        "TEST": {"NAME": str(path.with_name(f"test-{os.getpid()}-{path.name}"))},
        "OPTIONS": {
            # IMMEDIATE takes the write lock at BEGIN, so two writers queue on
            # the busy timeout instead of failing with "database is locked".
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;"
            ),
        },
    }


def parse_networks(
    name: str, raw: str | None
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Parse comma-separated addresses or CIDR networks (empty means any)."""
    networks = []
    for item in parse_list(raw, default=[]):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"{name}: {item!r} is not an IP address or network.") from None
    return tuple(networks)


@dataclass(frozen=True)
class CalloutCredential:
    """One username/password pair Zuora may present on a callout."""

    username: str
    password: str = ""

    def __repr__(self) -> str:
        return f"CalloutCredential(username={self.username!r}, password='***')"


def parse_callout_credentials(raw: str | None) -> tuple[CalloutCredential, ...]:
    """Parse `user:password,user2:password2`; several pairs allow rotation."""
    if raw is None or not raw.strip():
        return ()
    credentials = []
    for position, item in enumerate(raw.split(","), start=1):
        item = item.strip()
        if not item:
            continue
        username, sep, password = item.partition(":")
        if not sep or not username or not password:
            raise ValueError(
                f"ZUORA_CALLOUT_CREDENTIALS entry {position} is not 'user:password' "
                "(both parts are required; separate pairs with commas)."
            )
        credentials.append(CalloutCredential(username=username, password=password))
    return tuple(credentials)


def read(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name)
    return value if value is None else value.strip()
