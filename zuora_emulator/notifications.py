"""Notification definitions: which event sends which callout, and how it is rendered.

Definitions use the field names of Zuora's callout templates [CT][CTC]: ``calloutBaseurl``,
``httpMethod``, ``calloutParams``, ``calloutHeaders``, ``calloutAuth``, ``hmac*`` and
``customRequestBody``, plus ``eventTypeName`` for the event. Merge fields such as
``{{DataSource.Account.Id}}``, ``{{Contact.Id}}`` or legacy ``<Account.ID>`` are filled in
from the event when the callout is raised [MFS].
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from zuora_emulator.state import (
    ACCOUNT_CONTACTS_CHANGED,
    ACCOUNT_CREATED,
    ACCOUNT_UPDATED,
    CONTACT_CREATED,
    CONTACT_DELETED,
    CONTACT_UPDATED,
    EVENT_TYPES,
    ChangeEvent,
)

MERGE_FIELD = re.compile(r"\{\{\s*([A-Za-z0-9_.]+)\s*\}\}|<([A-Za-z]+\.[A-Za-z0-9_.]+)>")
HMAC_ALGORITHMS = {
    "MD5": hashlib.md5,
    "SHA-1": hashlib.sha1,
    "SHA-224": hashlib.sha224,
    "SHA-256": hashlib.sha256,
    "SHA-384": hashlib.sha384,
    "SHA-512": hashlib.sha512,
}


@dataclass
class NotificationDefinition:
    """One event → one callout. See the module docstring for the field names."""

    id: str
    name: str
    event_type: str
    url: str
    http_method: str = "POST"
    params: dict[str, str] = field(default_factory=dict)
    content_type: str = "APPLICATION_JSON"
    headers: dict[str, str] = field(default_factory=dict)
    auth: dict[str, Any] | None = None
    hmac: dict[str, str] | None = None
    custom_body: str | None = None
    active: bool = True

    @classmethod
    def from_dict(
        cls, data: dict[str, Any], definition_id: str, base_url: str | None
    ) -> NotificationDefinition:
        """Build from Zuora-style JSON; raises ValueError when something is missing."""
        event = data.get("eventTypeName") or data.get("eventType")
        if event not in EVENT_TYPES:
            raise ValueError(f"eventTypeName must be one of {', '.join(EVENT_TYPES)}")
        url = data.get("calloutBaseurl") or data.get("url") or ""
        if not url.startswith(("http://", "https://")):
            if not base_url:
                raise ValueError("calloutBaseurl must be absolute (no callout base URL set)")
            url = base_url.rstrip("/") + ("/" + url.lstrip("/") if url else "")
        method = str(data.get("httpMethod", "POST")).upper()
        if method not in ("POST", "GET", "PUT", "PATCH", "DELETE"):
            raise ValueError("httpMethod must be POST, GET, PUT, PATCH or DELETE")
        content_type = str(data.get("contentType", "APPLICATION_JSON")).upper()
        content_type = {"JSON": "APPLICATION_JSON", "FORM": "FORM_URLENCODED"}.get(
            content_type, content_type
        )
        if content_type not in ("APPLICATION_JSON", "FORM_URLENCODED"):
            raise ValueError("contentType must be APPLICATION_JSON or FORM_URLENCODED")
        auth = data.get("calloutAuth")
        if auth is not None and data.get("requiredAuth", True) is False:
            auth = None
        hmac_config = {k: v for k, v in data.items() if k.startswith("hmac")} or None
        if hmac_config and not hmac_config.get("hmacSecret"):
            raise ValueError("hmacSecret is required with HMAC")
        return cls(
            id=definition_id,
            name=str(data.get("name") or f"{event} callout"),
            event_type=event,
            url=url,
            http_method=method,
            params=dict(data.get("calloutParams") or {}),
            content_type=content_type,
            headers=dict(data.get("calloutHeaders") or {}),
            auth=dict(auth) if auth else None,
            hmac=hmac_config,
            custom_body=data.get("customRequestBody")
            if data.get("useCustomRequestBody", True)
            else None,
            active=bool(data.get("active", True)),
        )

    def to_dict(self) -> dict[str, Any]:
        """Zuora-style JSON, as accepted by :meth:`from_dict` (password masked)."""
        auth = dict(self.auth) if self.auth else None
        if auth and "password" in auth:
            auth["password"] = "********"  # noqa: S105 - a mask
        body: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "eventTypeName": self.event_type,
            "calloutBaseurl": self.url,
            "httpMethod": self.http_method,
            "calloutParams": self.params,
            "contentType": self.content_type,
            "calloutHeaders": self.headers,
            "calloutAuth": auth,
            "active": self.active,
        }
        if self.custom_body is not None:
            body["customRequestBody"] = self.custom_body
        if self.hmac:
            body.update({k: v for k, v in self.hmac.items() if k != "hmacSecret"})
        return body


def merge(template: str, context: dict[str, Any]) -> str:
    """Fill ``{{X.Y}}`` and ``<X.Y>`` merge fields, case-insensitively; unknown → ""."""
    lowered = {k.lower(): v for k, v in context.items()}

    def replace(match: re.Match[str]) -> str:
        name = (match.group(1) or match.group(2)).lower()
        name = name.removeprefix("datasource.")
        if name not in lowered and match.group(2):
            return match.group(0)  # an XML-looking tag, not a merge field
        value = lowered.get(name)
        return "" if value is None else str(value)

    return MERGE_FIELD.sub(replace, template)


@dataclass
class RenderedCallout:
    """One callout, rendered at event time; retries reuse it unchanged."""

    notification_id: str
    definition: NotificationDefinition
    event: ChangeEvent
    url: str
    body: bytes
    headers: dict[str, str]


def render_callout(
    definition: NotificationDefinition, event: ChangeEvent, notification_id: str
) -> RenderedCallout:
    """Merge the event into the definition's URL, params, headers and body."""
    ctx = dict(event.context)
    url = merge(definition.url, ctx)
    params = {k: merge(v, ctx) for k, v in definition.params.items()}
    headers = {k: merge(v, ctx) for k, v in definition.headers.items()}
    body = b""
    if definition.http_method in ("GET", "DELETE"):
        if params:
            url += ("&" if "?" in url else "?") + urllib.parse.urlencode(params)
    elif definition.content_type == "FORM_URLENCODED":
        body = urllib.parse.urlencode(params).encode()
        headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
    else:
        text = merge(definition.custom_body, ctx) if definition.custom_body else json.dumps(params)
        body = text.encode()
        headers.setdefault("Content-Type", "application/json")
    if definition.hmac:
        headers.update(_hmac_header(definition.hmac, body, headers, ctx))
    return RenderedCallout(notification_id, definition, event, url, body, headers)


def _hmac_header(
    config: dict[str, str], body: bytes, headers: dict[str, str], ctx: dict[str, Any]
) -> dict[str, str]:
    # hmacData is a template over the request; hmacKey names the header, hmacValue fills
    # it around {{Request.HMAC.Signed}} [CTC]. Nothing else is fixed by Zuora.
    request_ctx = dict(ctx)
    request_ctx["Request.Body"] = body.decode()
    request_ctx.update({f"Request.Headers.{k}": v for k, v in headers.items()})
    data = merge(config.get("hmacData", "{{Request.Body}}"), request_ctx)
    algorithm = config.get("hmacAlgorithm", "SHA-256").upper().replace("HMAC", "")
    if algorithm.startswith("SHA") and "-" not in algorithm:
        algorithm = "SHA-" + algorithm[3:]
    digestmod = HMAC_ALGORITHMS.get(algorithm)
    if digestmod is None:
        raise ValueError(f"Unsupported hmacAlgorithm {algorithm}")
    digest = hmac.new(config["hmacSecret"].encode(), data.encode(), digestmod).digest()
    if config.get("hmacOutputFormat", "BASE64").upper() == "HEX":
        signed = digest.hex()
    else:
        signed = base64.b64encode(digest).decode()
    request_ctx["Request.HMAC.Signed"] = signed
    value = merge(config.get("hmacValue", "{{Request.HMAC.Signed}}"), request_ctx)
    return {config.get("hmacKey", "X-Zuora-Signature"): value}


def default_definitions(auth: dict[str, Any] | None) -> list[dict[str, Any]]:
    """One definition per event: account events to ``<base>/account``, contact events to
    ``<base>/contact``, JSON bodies naming the objects (used with ``--callout-base-url``).
    """
    account_params = {
        "EventType": "{{Event.Type}}",
        "EventTimestamp": "{{Event.Timestamp}}",
        "AccountId": "{{DataSource.Account.Id}}",
        "AccountNumber": "{{DataSource.Account.AccountNumber}}",
    }
    contact_params = {**account_params, "ContactId": "{{DataSource.Contact.Id}}"}
    definitions = []
    for event in (ACCOUNT_CREATED, ACCOUNT_UPDATED, ACCOUNT_CONTACTS_CHANGED):
        definitions.append(
            {
                "name": event,
                "eventTypeName": event,
                "calloutBaseurl": "account",
                "calloutParams": account_params,
            }
        )
    for event in (CONTACT_CREATED, CONTACT_UPDATED, CONTACT_DELETED):
        definitions.append(
            {
                "name": event,
                "eventTypeName": event,
                "calloutBaseurl": "contact",
                "calloutParams": contact_params,
            }
        )
    if auth:
        for definition in definitions:
            definition.update(auth)
    return definitions
