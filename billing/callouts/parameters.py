"""Which Zuora object a callout names: accepted parameter names, precedence, id checks.

Names match whatever their letter case and `_`, `.` or `-` separators, so
`AccountId`, `accountId`, `account_id`, `AccountID` and `Account.Id` are one
name. The first name in the lists below that a callout carries wins; for each
name the body is looked at before the query string. A name sent twice with
different values is refused rather than guessed.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from http import HTTPStatus

from billing.callouts.payload import Fields
from billing.callouts.rejections import CalloutRejected
from billing.models import ZUORA_ID_PATTERN, SyncKind

ACCOUNT_ID_NAMES = ("AccountId", "DataSource.Account.Id", "zuora_id", "id")
CONTACT_ID_NAMES = ("ContactId", "DataSource.Contact.Id", "zuora_id", "id")
# The account a contact belongs to, optional on a contact callout. The generic
# names (`id`, `zuora_id`) mean the contact there, so they are not among them.
CONTACT_ACCOUNT_ID_NAMES = (
    "AccountId",
    "DataSource.Account.Id",
    "Contact.AccountId",
    "DataSource.Contact.AccountId",
)

SEPARATORS = re.compile(r"[._\-]")
ZUORA_ID = re.compile(ZUORA_ID_PATTERN)
SHOWN_LENGTH = 64


@dataclass(frozen=True)
class CalloutTarget:
    """The object a callout asks to sync, and the account sent along with a contact."""

    kind: SyncKind
    zuora_id: str
    account_zuora_id: str = ""


def account_target(sources: Sequence[Fields]) -> CalloutTarget:
    """The account named by an account callout; `sources` in precedence order."""
    return CalloutTarget(kind=SyncKind.ACCOUNT, zuora_id=_required_id(sources, ACCOUNT_ID_NAMES))


def contact_target(sources: Sequence[Fields]) -> CalloutTarget:
    """The contact named by a contact callout, with its account's id when one is sent."""
    return CalloutTarget(
        kind=SyncKind.CONTACT,
        zuora_id=_required_id(sources, CONTACT_ID_NAMES),
        account_zuora_id=_optional_id(sources, CONTACT_ACCOUNT_ID_NAMES),
    )


def normalised_name(name: str) -> str:
    """The form names are compared in: lower case, without `_`, `.` or `-`."""
    return SEPARATORS.sub("", name).lower()


def _required_id(sources: Sequence[Fields], names: tuple[str, ...]) -> str:
    found = _first_present(sources, names)
    if found is None:
        raise CalloutRejected(
            HTTPStatus.BAD_REQUEST,
            "missing_id",
            f"No Zuora id found; send it as one of {_listed(names)} (in the JSON or "
            "form body, or in the query string; letter case and _ . - separators do not matter).",
        )
    return _zuora_id(*found)


def _optional_id(sources: Sequence[Fields], names: tuple[str, ...]) -> str:
    found = _first_present(sources, names)
    if found is None or found[1] == "":
        return ""
    return _zuora_id(*found)


def _first_present(sources: Sequence[Fields], names: tuple[str, ...]) -> tuple[str, object] | None:
    for name in names:
        wanted = normalised_name(name)
        for fields in sources:
            matches = [(sent, value) for sent, value in fields if normalised_name(sent) == wanted]
            if not matches:
                continue
            if any(value != matches[0][1] for _, value in matches[1:]):
                raise CalloutRejected(
                    HTTPStatus.BAD_REQUEST,
                    "ambiguous_id",
                    f"{name} is sent more than once with different values.",
                )
            return matches[0]
    return None


def _zuora_id(sent_name: str, value: object) -> str:
    shown_name = _shown(sent_name)
    if not isinstance(value, str):
        raise CalloutRejected(
            HTTPStatus.BAD_REQUEST,
            "malformed_id",
            f"{shown_name} must be a string of 32 hexadecimal characters.",
        )
    # Zuora writes ids in lower case; an upper-case copy names the same object.
    candidate = value.strip()
    if candidate.isascii() and ZUORA_ID.match(candidate.lower()):
        return candidate.lower()
    raise CalloutRejected(
        HTTPStatus.BAD_REQUEST,
        "malformed_id",
        f"{shown_name} is {_shown(value)}, which is not a Zuora id (32 hexadecimal "
        "characters); check the merge field in the callout template.",
    )


def _shown(text: str) -> str:
    return repr(text if len(text) <= SHOWN_LENGTH else text[:SHOWN_LENGTH] + "...")


def _listed(names: tuple[str, ...]) -> str:
    return ", ".join(names[:-1]) + " or " + names[-1]
