"""Find personal data and secrets in log files.

The values to look for are collected while a run changes Zuora (every state
dump, every change); the logs are then searched for each one as a whole
word, case-insensitively. Values shorter than `MIN_LENGTH` characters
(initials, two-letter states) are not looked for: they would match ordinary
words.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MIN_LENGTH = 4
# Fields of a Zuora contact that identify or locate a person.
PERSONAL_FIELDS = (
    "firstName",
    "lastName",
    "nickname",
    "workEmail",
    "personalEmail",
    "workPhone",
    "mobilePhone",
    "homePhone",
    "fax",
    "address1",
    "address2",
    "city",
)
# What a leaked credential looks like, whatever its value (lines are case-folded).
CREDENTIAL_PATTERNS = (
    re.compile(r"\bbearer\s+[a-z0-9._~+/-]{8,}"),
    re.compile(r"access_token"),
)
_WORD = re.compile(r"\w+")


@dataclass
class PersonalData:
    """Values that must never reach a log, by what they are."""

    values: dict[str, str] = field(default_factory=dict)  # value (case-folded) → what it is

    def add(self, what: str, value: Any) -> None:
        if isinstance(value, str) and len(value.strip()) >= MIN_LENGTH:
            self.values.setdefault(value.strip().casefold(), what)

    def add_state(self, state: dict[str, Any]) -> None:
        """Every contact of an emulator state dump."""
        for contact in state["contacts"]:
            self.add_contact(contact)

    def add_contact(self, contact: dict[str, Any]) -> None:
        for name in PERSONAL_FIELDS:
            self.add(name, contact.get(name))

    def add_secret(self, what: str, value: str) -> None:
        if value:
            self.values.setdefault(value.casefold(), what)


@dataclass(frozen=True)
class Leak:
    path: Path
    line_number: int
    what: str

    def __str__(self) -> str:
        # Never the value itself: the report must not leak it again.
        return f"{self.path.name}:{self.line_number}: {self.what}"


def find_leaks(paths: Iterable[Path], personal: PersonalData) -> list[Leak]:
    """Every log line that contains one of the values, or a credential."""
    leaks = []
    for path in paths:
        lines = path.read_text(errors="replace").casefold().splitlines()
        words = set(_WORD.findall("\n".join(lines)))
        # Only values all of whose words occur somewhere are searched for line by line.
        candidates = [
            (value, what)
            for value, what in personal.values.items()
            if all(word in words for word in _WORD.findall(value))
        ]
        searches = [
            (re.compile(rf"(?<!\w){re.escape(value)}(?!\w)"), what) for value, what in candidates
        ]
        for number, line in enumerate(lines, start=1):
            for pattern, what in searches:
                if pattern.search(line):
                    leaks.append(Leak(path, number, what))
            leaks.extend(
                Leak(path, number, "credential")
                for pattern in CREDENTIAL_PATTERNS
                if pattern.search(line)
            )
    return leaks
