"""Environment values become settings, or a message naming the variable."""

from pathlib import Path

import pytest

from config.environment import (
    PREPARE_THRESHOLD,
    CalloutCredential,
    parse_bool,
    parse_callout_credentials,
    parse_database_url,
    parse_int,
)
from config.pool import ThrottledCheck

DEFAULT = Path("/srv/app/var/db.sqlite3")


def test_no_database_url_means_a_sqlite_file_under_var() -> None:
    config = parse_database_url(None, default_sqlite_path=DEFAULT)
    assert config["ENGINE"] == "django.db.backends.sqlite3"
    assert config["NAME"] == str(DEFAULT)


def test_blank_database_url_means_the_default_too() -> None:
    assert parse_database_url("  ", default_sqlite_path=DEFAULT)["NAME"] == str(DEFAULT)


def test_postgresql_url_is_parsed_into_its_parts() -> None:
    config = parse_database_url(
        "postgres://sync:s3cret@db.internal:6432/portal", default_sqlite_path=DEFAULT
    )
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["HOST"], config["PORT"], config["NAME"]) == ("db.internal", 6432, "portal")
    assert (config["USER"], config["PASSWORD"]) == ("sync", "s3cret")


def test_sqlite_url_with_a_path_keeps_the_sqlite_tuning() -> None:
    config = parse_database_url("sqlite:////srv/other.db", default_sqlite_path=DEFAULT)
    assert config["NAME"] == "/srv/other.db"
    assert config["OPTIONS"]["transaction_mode"] == "IMMEDIATE"


def test_pool_size_gives_postgresql_a_shared_pool_instead_of_persistent_connections() -> None:
    config = parse_database_url(
        "postgres://sync@db.internal/portal", default_sqlite_path=DEFAULT, pool_size=8
    )
    assert config["OPTIONS"]["pool"]["max_size"] == 8
    assert config["OPTIONS"]["pool"]["timeout"] > 0
    # Checked before use, but not before every request (see config.pool).
    assert config["OPTIONS"]["pool"]["check"] == ThrottledCheck(interval=1.0)
    # Django refuses a pool beside persistent connections.
    assert config["CONN_MAX_AGE"] == 0
    assert config["CONN_HEALTH_CHECKS"] is True


def test_without_a_pool_size_connections_persist_per_thread() -> None:
    config = parse_database_url("postgres://sync@db.internal/portal", default_sqlite_path=DEFAULT)
    assert "pool" not in config.get("OPTIONS", {})
    assert config["CONN_MAX_AGE"] == 60


def test_postgresql_binds_on_the_server_and_prepares_nothing_by_default() -> None:
    options = parse_database_url("postgres://sync@db.internal/portal", default_sqlite_path=DEFAULT)[
        "OPTIONS"
    ]
    assert options["server_side_binding"] is True
    assert options["prepare_threshold"] is None
    # No startup option a pooler would refuse.
    assert "options" not in options


def test_prepared_statements_are_planned_for_each_runs_values() -> None:
    options = parse_database_url(
        "postgres://sync@db.internal/portal", default_sqlite_path=DEFAULT, prepared_statements=True
    )["OPTIONS"]
    assert options["prepare_threshold"] == PREPARE_THRESHOLD
    # Planned for each run's values, never once for any (see parse_database_url).
    assert options["options"] == "-c plan_cache_mode=force_custom_plan"


def test_custom_plans_are_asked_for_beside_a_schema_from_the_url() -> None:
    options = parse_database_url(
        "postgres://sync@db.internal/portal?currentSchema=billing",
        default_sqlite_path=DEFAULT,
        prepared_statements=True,
    )["OPTIONS"]
    assert options["options"] == "-c search_path=billing -c plan_cache_mode=force_custom_plan"


def test_sqlite_gets_no_postgresql_options() -> None:
    options = parse_database_url(None, default_sqlite_path=DEFAULT, prepared_statements=True)[
        "OPTIONS"
    ]
    assert "server_side_binding" not in options
    assert "prepare_threshold" not in options


@pytest.mark.parametrize("url", [None, "sqlite:////srv/other.db"])
def test_pool_size_on_sqlite_is_an_error_naming_the_variable(url: str | None) -> None:
    with pytest.raises(ValueError, match="DATABASE_POOL_SIZE applies to PostgreSQL only"):
        parse_database_url(url, default_sqlite_path=DEFAULT, pool_size=4)


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        ("mysqlx://localhost/db", "cannot be parsed"),
        ("not a url", "cannot be parsed"),
        ("sqlite://:memory:", "in-memory"),
        ("postgres://localhost", "names no database"),
    ],
)
def test_unusable_database_url_is_an_error_naming_the_variable(url: str, complaint: str) -> None:
    with pytest.raises(ValueError, match="DATABASE_URL") as error:
        parse_database_url(url, default_sqlite_path=DEFAULT)
    assert complaint in str(error.value)


def test_database_url_error_does_not_echo_the_password() -> None:
    with pytest.raises(ValueError, match="DATABASE_URL") as error:
        parse_database_url("bogus://user:hunter2@host/db", default_sqlite_path=DEFAULT)
    assert "hunter2" not in str(error.value)


def test_callout_credentials_allow_several_pairs_for_rotation() -> None:
    assert parse_callout_credentials(" zuora:old-pass , zuora2:new:pass ") == (
        CalloutCredential("zuora", "old-pass"),
        CalloutCredential("zuora2", "new:pass"),
    )


def test_no_callout_credentials_is_an_empty_tuple() -> None:
    assert parse_callout_credentials(None) == ()
    assert parse_callout_credentials("") == ()


@pytest.mark.parametrize("raw", ["zuora", "zuora:", ":secret", "a:b,broken"])
def test_malformed_callout_credentials_are_an_error(raw: str) -> None:
    with pytest.raises(ValueError, match="ZUORA_CALLOUT_CREDENTIALS"):
        parse_callout_credentials(raw)


def test_callout_credentials_never_show_the_password() -> None:
    assert "s3cret" not in repr(CalloutCredential("zuora", "s3cret"))


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("Yes", True), ("off", False)])
def test_flags_accept_the_usual_words(raw: str, expected: bool) -> None:
    assert parse_bool("DEBUG", raw, default=not expected) is expected


def test_unknown_flag_word_is_an_error() -> None:
    with pytest.raises(ValueError, match="DEBUG"):
        parse_bool("DEBUG", "maybe", default=False)


def test_integer_settings_are_checked() -> None:
    assert parse_int("N", "12", default=1) == 12
    with pytest.raises(ValueError, match="N must be an integer"):
        parse_int("N", "twelve", default=1)
    with pytest.raises(ValueError, match="at least 1"):
        parse_int("N", "0", default=1, minimum=1)
