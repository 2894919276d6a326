"""Who may deliver a callout: the source network, HTTP Basic credentials, an HMAC signature.

Each check raises `CalloutRejected` with the status Zuora should see. Secrets
are compared in constant time, and a Basic password is compared against every
configured pair, so the time taken does not tell which username matched.
"""

import base64
import binascii
import hashlib
import hmac
import ipaddress
import re
from http import HTTPStatus

from django.conf import settings
from django.http import HttpRequest

from billing.callouts.rejections import CalloutRejected
from config.environment import CalloutCredential

type IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

HEX_SIGNATURE = re.compile(r"\A[0-9a-fA-F]{64}\Z")
SIGNATURE_BYTES = hashlib.sha256().digest_size


def source_address(request: HttpRequest) -> IPAddress | None:
    """The peer's address from REMOTE_ADDR (proxies' headers are not trusted), or None."""
    raw = str(request.META.get("REMOTE_ADDR") or "")
    try:
        # A link-local IPv6 address may carry a zone ("fe80::1%eth0") that no
        # database column accepts; the zone says nothing about the sender.
        address = ipaddress.ip_address(raw.partition("%")[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def check_source_network(address: IPAddress | None) -> None:
    """Refuse a sender outside ZUORA_CALLOUT_ALLOWED_NETWORKS (an empty list allows any)."""
    networks = settings.ZUORA_CALLOUT_ALLOWED_NETWORKS
    if not networks:
        return
    if address is not None and any(address in network for network in networks):
        return
    raise CalloutRejected(
        HTTPStatus.FORBIDDEN,
        "network_refused",
        "Callouts are not accepted from this address; if Zuora's callout addresses "
        "changed, add them to ZUORA_CALLOUT_ALLOWED_NETWORKS.",
    )


def check_basic_credentials(request: HttpRequest) -> None:
    """Require HTTP Basic credentials matching one of ZUORA_CALLOUT_CREDENTIALS.

    Without credentials the answer is a 401 challenge naming the realm, which
    is what Zuora's default (non-preemptive) Basic authentication waits for.
    """
    credentials = settings.ZUORA_CALLOUT_CREDENTIALS
    if not credentials:
        raise CalloutRejected(
            HTTPStatus.SERVICE_UNAVAILABLE,
            "not_configured",
            "Callouts are refused because this service has no callout credentials; "
            "set ZUORA_CALLOUT_CREDENTIALS to the user:password pair configured in Zuora.",
        )
    presented = _basic_user_password(request.headers.get("Authorization", ""))
    if presented is None or not _matches_one(presented, credentials):
        raise CalloutRejected(
            HTTPStatus.UNAUTHORIZED,
            "unauthenticated",
            "HTTP Basic credentials are missing or wrong; use the user and password "
            "configured for callouts on this service.",
            headers={"WWW-Authenticate": f'Basic realm="{_quoted(settings.ZUORA_CALLOUT_REALM)}"'},
        )


def check_signature(request: HttpRequest, body: bytes) -> None:
    """When ZUORA_CALLOUT_HMAC_SECRET is set, require a valid HMAC-SHA256 of the body."""
    secret = settings.ZUORA_CALLOUT_HMAC_SECRET
    if not secret:
        return
    header = settings.ZUORA_CALLOUT_HMAC_HEADER
    presented = _signature_bytes(request.headers.get(header, ""))
    if presented is None:
        raise CalloutRejected(
            HTTPStatus.FORBIDDEN,
            "unsigned",
            f"The {header} header is missing or is not an HMAC-SHA256 signature "
            "(base64 or hex) of the request body.",
        )
    expected = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    if not hmac.compare_digest(presented, expected):
        raise CalloutRejected(
            HTTPStatus.FORBIDDEN,
            "bad_signature",
            f"The {header} header does not match the request body; check the HMAC "
            "secret and that the signed data is exactly {{Request.Body}}.",
        )


def _basic_user_password(authorization: str) -> bytes | None:
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        return base64.b64decode(token.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None


def _matches_one(presented: bytes, credentials: tuple[CalloutCredential, ...]) -> bool:
    # Hashing first gives equal-length inputs to compare_digest, so neither the
    # length of a configured password nor which pair matched shows in the timing.
    presented_digest = hashlib.sha256(presented).digest()
    matched = False
    for credential in credentials:
        expected = f"{credential.username}:{credential.password}".encode()
        matched |= hmac.compare_digest(presented_digest, hashlib.sha256(expected).digest())
    return matched


def _signature_bytes(value: str) -> bytes | None:
    value = value.strip()
    if HEX_SIGNATURE.match(value):
        return bytes.fromhex(value)
    try:
        decoded = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    return decoded if len(decoded) == SIGNATURE_BYTES else None


def _quoted(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')
