"""normalise_email: the library's verdict, with the domain's check remembered.

The library (`email-validator`) is the oracle: for any text, `normalise_email`
returns what the library returns for the whole address, or refuses it with the
library's message.
"""

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from customers import email_address
from customers.email_address import InvalidEmailAddress, normalise_email


def library_outcome(text: str) -> tuple[str, str]:
    """What the library alone says about the whole address."""
    try:
        return ("ok", email_address._validated(text.strip()))
    except InvalidEmailAddress as error:
        return ("refused", str(error))


def outcome(text: str) -> tuple[str, str]:
    try:
        return ("ok", normalise_email(text))
    except InvalidEmailAddress as error:
        return ("refused", str(error))


ATEXT = "abcXYZ019!#$%&'*+/=?^_`{|}~-"
atoms = st.text(alphabet=ATEXT, min_size=1, max_size=12)
local_parts = st.one_of(
    st.lists(atoms, min_size=1, max_size=4).map(".".join),
    st.sampled_from(["Postmaster", "INFO", "abuse", "x" * 64, "x" * 65, "x" * 240]),
    st.text(alphabet=ATEXT + '."@ <>()[]\\,;:é', max_size=20),
    st.lists(atoms, max_size=3).map(lambda parts: '"' + " ".join(parts) + '"'),
)
labels = st.one_of(
    st.text(alphabet="abcXYZ019-", min_size=1, max_size=10),
    st.sampled_from(["xn--bcher-kva", "bücher", "ÉCOLE", "x" * 63, "x" * 64, "ab--cd", ""]),
)
tlds = st.sampled_from(
    ["com", "ORG", "co.uk", "test", "local", "localhost", "invalid", "onion", "arpa", "123", "c"]
)
domains = st.one_of(
    st.builds(lambda parts, tld: ".".join([*parts, tld]), st.lists(labels, max_size=3), tlds),
    st.lists(labels, min_size=1, max_size=60).map(".".join),  # long ones too
    st.text(alphabet="abc.-[]019 :é", max_size=20),
    st.sampled_from(["[127.0.0.1]", "example.com.", ".example.com", "EXAMPLE.COM"]),
)
spaces = st.sampled_from(["", " ", "\t", "\n "])
addresses = st.builds(
    lambda before, local, at, domain, after: f"{before}{local}{at}{domain}{after}",
    spaces,
    local_parts,
    st.sampled_from(["@", "@", "@@", ""]),
    domains,
    spaces,
)


@settings(max_examples=2000, deadline=None)
@given(st.one_of(addresses, st.emails(), st.text(max_size=40)))
@example("Jane.Doe@Example.COM")
@example("Postmaster@example.com")
@example("a@xn--bcher-kva.ch")
@example("a@x.test")
@example("a..b@example.com")
@example(" a@example.com ")
@example("x" * 64 + "@" + ".".join(["y" * 63] * 3) + ".com")
@example("x" * 10 + "@" + ".".join(["y" * 60] * 4) + ".com")
def test_the_same_verdict_as_the_library_for_the_whole_address(text: str) -> None:
    email_address._ascii_host.cache_clear()
    assert outcome(text) == library_outcome(text)
    # And once the domain's verdict is remembered.
    assert outcome(text) == library_outcome(text)


def test_a_domain_is_checked_once_for_many_addresses() -> None:
    email_address._ascii_host.cache_clear()
    addresses = [f"person{n}@Mail.Example.NET" for n in range(50)]
    assert [normalise_email(address) for address in addresses] == [
        f"person{n}@mail.example.net" for n in range(50)
    ]
    info = email_address._ascii_host.cache_info()
    assert (info.misses, info.hits) == (1, 49)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a@example.test", "special-use or reserved name"),
        ("a@example", "It should have a period"),
        ("Jörg@example.com", "Internationalized characters before the @-sign"),
        ("no-at-sign", "must have an @-sign"),
    ],
)
def test_refusals_say_why(text: str, message: str) -> None:
    with pytest.raises(InvalidEmailAddress, match=message):
        normalise_email(text)
