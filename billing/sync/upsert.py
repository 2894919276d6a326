"""Bulk writes: insert-or-update of synced rows, guarded against stale data, in one
statement; bulk updates and inserts of many rows. On PostgreSQL each column goes
as one binary array, or a few rows as typed values (`_rows_source`).

`INSERT … ON CONFLICT (zuora_id) DO UPDATE … WHERE` is the same on SQLite and
PostgreSQL. The WHERE clause is the stale-write guard: a row changes only
when the incoming Zuora `updatedDate` is at least as new as the stored one
(equal is applied: Zuora's timestamps have whole seconds, and two changes in
one second must not drop the later).
"""

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import batched
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections, models

# Set when the row is created, never changed by a later sync.
INSERT_ONLY = frozenset({"zuora_id", "created_at"})


@dataclass(frozen=True)
class Upserted:
    pk: int
    written: bool  # False when the stored row was newer and kept


def upsert_many_by_zuora_id(
    model: type[models.Model], rows: Sequence[dict[str, Any]]
) -> dict[str, Upserted]:
    """Upsert many rows (all with the same keys) in one statement; results by Zuora id.

    On SQLite, in as many statements as its limit on parameters requires.
    """
    if not rows:
        return {}
    # One statement may not touch a row twice: the last value of an id wins.
    by_id = {row["zuora_id"]: row for row in rows}
    names = tuple(rows[0])
    plan = _upsert_plan(model, names, connection.vendor)
    fields = plan.rows.fields
    prepared = _with_defaults(
        model, plan.rows, [[row[name] for name in names] for row in by_id.values()]
    )
    written: dict[str, Upserted] = {}
    with connection.cursor() as cursor:
        for chunk in batched(prepared, _rows_per_statement(len(prepared), len(fields))):
            source, params = _rows_source(fields, chunk)
            cursor.execute(f"{plan.rows.insert} {source} {plan.on_conflict}", params)
            written |= {zuora: Upserted(pk=pk, written=True) for pk, zuora in cursor.fetchall()}
    kept = [zuora for zuora in by_id if zuora not in written]
    if kept:
        for pk, zuora in model._default_manager.filter(zuora_id__in=kept).values_list(
            "pk", "zuora_id"
        ):
            written[zuora] = Upserted(pk=pk, written=False)
    return written


@dataclass(frozen=True)
class _UpsertPlan:
    rows: "_InsertPlan"  # the insert of the rows,
    on_conflict: str  # and what follows their row source


@functools.cache
def _upsert_plan(model: type[models.Model], names: tuple[str, ...], vendor: str) -> _UpsertPlan:
    """The statement's text and fields for rows with these keys, built once per process.

    Built at every call, it was about a tenth of an account sync's
    instructions (quoting names, looking up column types).
    """
    opts = model._meta
    quote = connection.ops.quote_name
    table = quote(opts.db_table)
    updated = [quote(opts.get_field(name).column) for name in names if name not in INSERT_ONLY]
    updates = ", ".join(f"{column} = excluded.{column}" for column in updated)
    guard = quote(opts.get_field("zuora_updated_at").column)
    zuora_id = quote(opts.get_field("zuora_id").column)
    # Identifiers come from the model and values are parameters.
    on_conflict = " ".join(
        [
            f"ON CONFLICT ({zuora_id}) DO UPDATE SET {updates}",
            f"WHERE {table}.{guard} IS NULL OR excluded.{guard} IS NULL",
            f"OR {table}.{guard} <= excluded.{guard}",
            f"RETURNING {quote(opts.pk.column)}, {zuora_id}",
        ]
    )
    return _UpsertPlan(rows=_insert_plan(model, names, vendor), on_conflict=on_conflict)


def insert_rows(
    model: type[models.Model], names: Sequence[str], rows: Sequence[Sequence[Any]]
) -> list[int]:
    """Insert new rows, each the values of the fields `names` in that order, in one
    statement; returns their primary keys, in the order of `rows`.

    Every other field gets its default, or the time now for `auto_now_add`,
    computed once for the whole call: a default meant to differ from row to
    row (a unique one) must be among `names`. Sold-To provisioning writes its
    customers, memberships and audit events with it, as rows rather than
    model instances: building and preparing 40,000 instances was a fifth of
    a full import's provisioning. On PostgreSQL the columns go as binary
    arrays (see `_rows_source`); elsewhere it is `bulk_create`.
    """
    if not rows:
        return []
    if connection.vendor != "postgresql":
        objects = [model(**dict(zip(names, row, strict=True))) for row in rows]
        model._default_manager.bulk_create(objects)
        return [instance.pk for instance in objects]
    plan = _insert_plan(model, tuple(names), connection.vendor)
    source, params = _rows_source(plan.fields, _with_defaults(model, plan, map(list, rows)))
    with connection.cursor() as cursor:
        cursor.execute(f"{plan.insert} {source} {plan.returning}", params)
        # Rows come back in the order of the arrays, as bulk_create relies on too.
        return [pk for (pk,) in cursor.fetchall()]


@dataclass(frozen=True)
class _InsertPlan:
    fields: tuple[models.Field, ...]  # those named, then the defaulted ones
    defaults: tuple[models.Field, ...]
    stamped: bool  # a defaulted field takes the time (auto_now, auto_now_add)
    insert: str  # the statement before its row source,
    returning: str  # and after it


@functools.cache
def _insert_plan(model: type[models.Model], names: tuple[str, ...], vendor: str) -> _InsertPlan:
    """An INSERT of rows with these fields; every other field but the key gets its
    default (the ORM applies those, not the database)."""
    opts = model._meta
    named = [opts.get_field(name) for name in names]
    defaults = tuple(
        field for field in opts.concrete_fields if field not in named and field is not opts.pk
    )
    shared = [field.name for field in defaults if field.unique]
    if shared:
        raise ValueError(f"{model.__name__}: give unique fields a value per row: {shared}")
    fields = (*named, *defaults)
    quote = connection.ops.quote_name
    return _InsertPlan(
        fields=fields,
        defaults=defaults,
        stamped=any(
            getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
            for field in defaults
        ),
        insert=f"INSERT INTO {quote(opts.db_table)} "
        f"({', '.join(quote(field.column) for field in fields)})",
        returning=f"RETURNING {quote(opts.pk.column)}",
    )


def _with_defaults(
    model: type[models.Model], plan: _InsertPlan, rows: Iterable[list[Any]]
) -> list[list[Any]]:
    """Rows of the named fields' values, prepared and followed by the defaulted fields'.

    The defaults are computed and prepared once for all the rows, as a save
    would give them: pre_save on a fresh instance when a field takes the time
    (`auto_now_add`), else each field's default (building an instance cost an
    account sync's two upserts 2 % of its instructions).
    """
    if plan.stamped:
        blank = model()
        values = [field.pre_save(blank, add=True) for field in plan.defaults]
    else:
        values = [field.get_default() for field in plan.defaults]
    [defaults] = _prepared(plan.defaults, [values])
    named = plan.fields[: len(plan.fields) - len(plan.defaults)]
    return [[*values, *defaults] for values in _prepared(named, rows)]


def _prepared(fields: Sequence[models.Field], rows: Iterable[list[Any]]) -> list[list[Any]]:
    """Rows of values (one per field, lists changed in place) prepared for the database.

    Text is stored as given, and so are the values Django would hand over
    unchanged (`_passed_as_is`); the others get Django's preparation
    (preparing every value was a tenth of a full import's time). It is done
    on the connection itself: `django.db.connection` is a proxy that looks
    the connection up again at each use, a third of the time spent here.
    """
    database = connections[DEFAULT_DB_ALIAS]
    converted = [
        (index, field, _passed_as_is(field, database.vendor))
        for index, field in enumerate(fields)
        if field.get_internal_type() not in {"CharField", "TextField"}
    ]
    prepared = []
    for values in rows:
        for index, field, as_is in converted:
            value = values[index]
            if type(value) is not as_is or (as_is is datetime and value.tzinfo is None):
                values[index] = field.get_db_prep_save(value, database)
        prepared.append(values)
    return prepared


def _passed_as_is(field: models.Field, vendor: str) -> type | None:
    """The type of value that needs no preparation in this field: an int in an integer
    column (a key among them) or a reference to one, and on PostgreSQL an aware
    datetime in a timestamp column."""
    target = field.target_field if field.is_relation else field
    if isinstance(target, models.IntegerField):
        return int
    if vendor == "postgresql" and isinstance(target, models.DateTimeField):
        return datetime
    return None


def update_by_pk(
    model: type[models.Model], field_names: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Set `field_names` of many rows, given as (pk, value, …) tuples, in one statement.

    Django's `bulk_update` builds a CASE WHEN per row and field, which cost a
    full import about 15 % of its time; on PostgreSQL this is one UPDATE …
    FROM unnest(…). Elsewhere it is `bulk_update`.
    """
    if not rows:
        return
    opts = model._meta
    fields = [opts.get_field(name) for name in field_names]
    if connection.vendor != "postgresql":
        objects = []
        for pk, *values in rows:
            instance = model(pk=pk)
            for field, value in zip(fields, values, strict=True):
                setattr(instance, field.attname, value)
            objects.append(instance)
        model._default_manager.bulk_update(objects, field_names)
        return
    quote = connection.ops.quote_name
    table = quote(opts.db_table)
    prepared = _prepared([opts.pk, *fields], (list(row) for row in rows))
    source, params = _rows_source([opts.pk, *fields], prepared)
    names = [f"column{number}" for number in range(1, len(fields) + 2)]
    assignments = ", ".join(
        f"{quote(field.column)} = v.{name}" for field, name in zip(fields, names[1:], strict=True)
    )
    sql = (
        f"UPDATE {table} SET {assignments} "  # noqa: S608 (identifiers from the model)
        f"FROM ({source}) AS v({', '.join(names)}) "
        f"WHERE {table}.{quote(opts.pk.column)} = v.column1"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _rows_per_statement(rows: int, columns: int) -> int:
    """How many of `rows` rows of `columns` values one statement carries: all of them with
    arrays, else as many as the database's limit on parameters allows (SQLite: 32,766
    by default)."""
    limit = connection.features.max_query_params
    if connection.vendor == "postgresql" or limit is None:
        return max(1, rows)
    return max(1, limit // columns)


# Up to this many values, a row source on PostgreSQL is typed scalars, not arrays.
SCALARS_UP_TO = 64


def _rows_source(
    fields: Sequence[models.Field], rows: Sequence[Sequence[Any]]
) -> tuple[str, list[Any]]:
    """A row source for INSERT or UPDATE … FROM: rows of prepared values, one per field.

    On PostgreSQL, `SELECT * FROM unnest(%b::type[], …)`: one array parameter
    per column, so the statement stays short whatever the number of rows
    (psycopg re-parses, uncached, every statement over 4 KiB: a page of 2,000
    rows as VALUES cost a full import 18 % of its time), sent in binary: the
    connection binds parameters on the server (`config/environment.py`), where
    a cursor binding on the client would quote every element of an array into
    the SQL text (a column of 1,000 strings: about 2 ms in text, 0.4 ms in
    binary; a quarter of a full import). A few rows (a sync's account, its
    Bill-To and Sold-To) go as `VALUES (%b::type, …)` instead: psycopg dumps
    a one-element array in Python, a scalar in C (a row of 23 values: 294
    against 132 µs of the client's CPU per statement, round trip included).
    Elsewhere, VALUES.
    """
    if connection.vendor == "postgresql":
        if len(rows) * len(fields) > SCALARS_UP_TO:
            return _unnest(tuple(fields)), [list(column) for column in zip(*rows, strict=True)]
        return _typed_values(tuple(fields), len(rows)), [value for row in rows for value in row]
    placeholders = "(" + ", ".join(["%s"] * len(fields)) + ")"
    return f"VALUES {', '.join([placeholders] * len(rows))}", [
        value for row in rows for value in row
    ]


@functools.cache
def _unnest(fields: tuple[models.Field, ...]) -> str:
    arrays = ", ".join(f"%b::{field.db_type(connection)}[]" for field in fields)
    return f"SELECT * FROM unnest({arrays})"  # noqa: S608 (types from the model)


@functools.cache
def _typed_values(fields: tuple[models.Field, ...], rows: int) -> str:
    row = "(" + ", ".join(f"%b::{field.db_type(connection)}" for field in fields) + ")"
    return f"VALUES {', '.join([row] * rows)}"
