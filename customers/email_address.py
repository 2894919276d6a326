"""Email addresses as the portal stores and matches them."""

import re
from collections.abc import Iterable
from functools import lru_cache
from itertools import batched
from typing import NamedTuple

from django.contrib.auth.hashers import is_password_usable
from django.db import connection
from django.db.models import QuerySet, Value
from django.db.models.functions import Lower
from email_validator import EmailNotValidError, validate_email
from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES, EMAIL_MAX_LENGTH

from billing.sync.among import Among
from customers.models import Customer


class InvalidEmailAddress(ValueError):
    """The text is not an address mail can be sent to; the message says why."""


# A local part of the common form: unquoted ASCII atoms separated by dots (RFC
# 5322's dot-atom, the library's DOT_ATOM_TEXT). The library keeps such a part
# as it is, except the mailbox names it lowercases (CASE_INSENSITIVE_MAILBOX_NAMES).
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN_LOCAL_PART = re.compile(rf"{_ATOM}(?:\.{_ATOM})*")


def normalise_email(raw: str) -> str:
    """Trim, validate and normalise an address (Unicode NFC, lowercase domain); no DNS.

    `email-validator` decides. Checking the part after the @-sign is most of
    its work (IDNA rules, character by character) and addresses share a few
    domains, so for the common form (a plain local part, an ASCII domain) the
    domain's verdict is remembered and the address is put together from it:
    the same result as the library's for the whole address (tests compare
    the two). Anything else, and every refusal, goes to the library whole.
    """
    text = raw.strip()
    local, at, domain = text.rpartition("@")
    if (
        at
        and len(text) <= EMAIL_MAX_LENGTH
        and _PLAIN_LOCAL_PART.fullmatch(local)
        and local.lower() not in CASE_INSENSITIVE_MAILBOX_NAMES
        and (host := _ascii_host(domain)) is not None
    ):
        return f"{local}@{host}"
    return _validated(text)


def _validated(text: str) -> str:
    try:
        checked = validate_email(
            text,
            check_deliverability=False,
            # Django's EmailField and most mail servers accept ASCII local parts only.
            allow_smtputf8=False,
        )
    except EmailNotValidError as error:
        raise InvalidEmailAddress(str(error)) from None
    return checked.normalized


@lru_cache(maxsize=4096)
def _ascii_host(domain: str) -> str | None:
    """The domain as the library normalises it (lowercase: no longer than the
    text), when it accepts it and it is ASCII (then the address's other forms
    are this one); None otherwise."""
    if not domain.isascii():
        return None
    try:
        checked = validate_email(f"a@{domain}", check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError:
        return None
    return checked.domain if checked.domain == checked.ascii_domain else None


def customers_with_email(email: str) -> QuerySet[Customer]:
    """Customers whose address equals this one whatever its letter case.

    Compares with the database's own LOWER(), as the unique constraint does, so
    that a match here is exactly what the constraint would refuse.
    """
    return Customer.objects.alias(email_lower=Lower("email")).filter(
        email_lower=Lower(Value(email))
    )


# Addresses lowered per query: one result column each, and PostgreSQL allows
# at most 1,664 columns in a result, SQLite 2,000.
LOWERCASE_CHUNK = 1000


def lowercase_emails(emails: Iterable[str]) -> dict[str, str]:
    """Each address as the database's LOWER() makes it, in one query per 1,000 addresses.

    That is how the unique constraint compares addresses, and it differs from
    Python's lower() outside ASCII (SQLite only folds ASCII letters). An ASCII
    address is lowered here when the database lowers ASCII as Python does
    (`_lowers_ascii_as_python`: not under a Turkish collation, say); a Sold-To
    provisioning then needs no round trip for it.
    """
    lowered: dict[str, str] = {}
    rest = []
    here = _lowers_ascii_as_python(connection.vendor, connection.settings_dict["NAME"])
    for email in dict.fromkeys(emails):
        if here and email.isascii():
            lowered[email] = email.lower()
        else:
            rest.append(email)
    if rest:
        with connection.cursor() as cursor:
            for chunk in batched(rest, LOWERCASE_CHUNK):
                select = ", ".join(["LOWER(CAST(%s AS TEXT))"] * len(chunk))
                cursor.execute(f"SELECT {select}", chunk)
                lowered |= zip(chunk, cursor.fetchone(), strict=True)
    return lowered


# Every printable ASCII character: letters, digits, punctuation and space.
_ASCII = "".join(map(chr, range(32, 127)))


@lru_cache(maxsize=8)
def _lowers_ascii_as_python(vendor: str, database: str) -> bool:
    """Whether this database's LOWER() turns ASCII text into what str.lower() does
    (asked once per process; its collation does not change)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT LOWER(CAST(%s AS TEXT))", [_ASCII])
        (lowered,) = cursor.fetchone()
    return lowered == _ASCII.lower()


class CustomerStanding(NamedTuple):
    """What access and invitations depend on: who the customer is, whether they
    confirmed their address, may sign in, and ever set a password."""

    pk: int
    email_verified: bool
    is_active: bool
    has_usable_password: bool


def customers_by_lowercase_email(lowercased: Iterable[str]) -> dict[str, CustomerStanding]:
    """Customers whose LOWER(email) is one of these (see lowercase_emails), in one query."""
    wanted = set(lowercased)
    if not wanted:
        return {}
    found = (
        Customer.objects.annotate(email_lower=Lower("email"))
        .filter(Among("email_lower", wanted))
        .values_list("email_lower", "pk", "email_verified_at", "is_active", "password")
    )
    return {
        lower: CustomerStanding(pk, verified_at is not None, active, is_password_usable(password))
        for lower, pk, verified_at, active, password in found
    }
