"""Find personal data and secrets in log files.

The values to look for are collected while a run changes Zuora (every state
dump, every change); the logs are then searched for each one as a whole
word, case-insensitively. Values shorter than `MIN_LENGTH` characters
(initials, two-letter states) are not looked for: they would match ordinary
words.
"""

import bisect
import re
from collections.abc import Iterable, Iterator
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
        text = path.read_text(errors="replace").casefold()
        line_ends = [match.start() for match in re.finditer("\n", text)]
        found = list(_occurrences(text, personal))
        found.extend(
            (match.start(), "credential")
            for pattern in CREDENTIAL_PATTERNS
            for match in pattern.finditer(text)
        )
        leaks.extend(
            Leak(path, bisect.bisect_left(line_ends, position) + 1, what)
            for position, what in found
        )
    return sorted(set(leaks), key=lambda leak: (leak.path, leak.line_number, leak.what))


def _occurrences(text: str, personal: PersonalData) -> Iterator[tuple[int, str]]:
    """Where a value occurs as whole words: found from its first word's occurrences."""
    tokens = [(match.start(), match.group()) for match in _WORD.finditer(text)]
    words = {word for _, word in tokens}
    by_first_word: dict[str, list[tuple[str, str]]] = {}
    for value, what in personal.values.items():
        value_words = _WORD.findall(value)
        if value_words and all(word in words for word in value_words):
            # From its first word on (a phone number's leading "+" is not a word).
            core = value[_WORD.search(value).start() :]  # type: ignore[union-attr]
            by_first_word.setdefault(value_words[0], []).append((core, what))
    for start, word in tokens:
        for core, what in by_first_word.get(word, ()):
            end = start + len(core)
            if text.startswith(core, start) and not _WORD.match(text[end : end + 1]):
                yield start, what
