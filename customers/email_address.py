"""Email addresses as the portal stores and matches them."""

from django.db.models import QuerySet, Value
from django.db.models.functions import Lower
from email_validator import EmailNotValidError, validate_email

from customers.models import Customer


class InvalidEmailAddress(ValueError):
    """The text is not an address mail can be sent to; the message says why."""


def normalise_email(raw: str) -> str:
    """Trim, validate and normalise an address (Unicode NFC, lowercase domain); no DNS."""
    try:
        checked = validate_email(
            raw.strip(),
            check_deliverability=False,
            # Django's EmailField and most mail servers accept ASCII local parts only.
            allow_smtputf8=False,
        )
    except EmailNotValidError as error:
        raise InvalidEmailAddress(str(error)) from None
    return checked.normalized


def customers_with_email(email: str) -> QuerySet[Customer]:
    """Customers whose address equals this one whatever its letter case.

    Compares with the database's own LOWER(), as the unique constraint does, so
    that a match here is exactly what the constraint would refuse.
    """
    return Customer.objects.alias(email_lower=Lower("email")).filter(
        email_lower=Lower(Value(email))
    )
