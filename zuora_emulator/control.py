"""Control endpoints under ``/_emulator/``: not part of Zuora, never behind auth or faults.

They let tests, the demo and benchmarks seed data, apply random changes, read the full
state, set faults, manage callout definitions and read callout history.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from zuora_emulator.fields import StateError
from zuora_emulator.persistence import export_state, save_state
from zuora_emulator.seeding import seed_accounts

if TYPE_CHECKING:
    from zuora_emulator.app import Emulator

PREFIX = "/_emulator"
# Settings that can change while the emulator runs: name -> (object attribute path, type).
LIVE_SETTINGS: dict[str, tuple[str, type]] = {
    "bump_updated_date": ("state.settings.bump_updated_date", bool),
    "refuse_referenced_contact_delete": ("state.settings.refuse_referenced_contact_delete", bool),
    "account_delete_delay": ("state.settings.account_delete_delay", float),
    "token_lifetime": ("tokens.lifetime", float),
    "default_version": ("options.default_version", str),
    "callout_attempts": ("callouts.policy.attempts", int),
    "callout_interval": ("callouts.policy.interval", float),
    "callout_timeout": ("callouts.policy.timeout", float),
}


def _emulator(request: Request) -> Emulator:
    return request.app.state.emulator


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    data = json.loads(raw) if raw else {}
    if not isinstance(data, dict):
        raise ValueError("The body must be a JSON object.")
    return data


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _resolve(emulator: Emulator, path: str) -> tuple[Any, str]:
    *parents, attr = path.split(".")
    target: Any = emulator
    for name in parents:
        target = getattr(target, name)
    return target, attr


def read_settings(emulator: Emulator) -> dict[str, Any]:
    """Current values of every live setting."""
    return {name: getattr(*_resolve(emulator, path)) for name, (path, _) in LIVE_SETTINGS.items()}


def change_settings(emulator: Emulator, values: dict[str, Any]) -> dict[str, Any]:
    """Change live settings; ValueError on an unknown name or wrong type."""
    unknown = set(values) - set(LIVE_SETTINGS)
    if unknown:
        raise ValueError(f"Unknown settings: {', '.join(sorted(unknown))}")
    for name, value in values.items():
        path, kind = LIVE_SETTINGS[name]
        if kind is bool and not isinstance(value, bool):
            raise ValueError(f"{name} must be true or false")
        target, attr = _resolve(emulator, path)
        setattr(target, attr, kind(value))
    return read_settings(emulator)


async def health(request: Request) -> Response:
    """Liveness, object counts and the OAuth client credentials to use."""
    emulator = _emulator(request)
    with emulator.state.lock:
        counts = {
            "accounts": len(emulator.state.accounts),
            "contacts": len(emulator.state.contacts),
        }
    return JSONResponse(
        {
            "status": "ok",
            **counts,
            "clientId": emulator.options.client_id,
            "clientSecret": emulator.options.client_secret,
        }
    )


async def state_dump(request: Request) -> Response:
    """Every account (with billToId/soldToId) and every contact."""
    return JSONResponse(export_state(_emulator(request).state))


async def state_save(request: Request) -> Response:
    """Write the state file now (``{"path": …}`` or the configured ``--state-file``)."""
    emulator = _emulator(request)
    path = (await _body(request)).get("path") or emulator.options.state_file
    if not path:
        return _error(400, "No path given and no --state-file configured.")
    save_state(emulator.state, path)
    return JSONResponse({"saved": path})


async def seed(request: Request) -> Response:
    """Add ``{"accounts": N, "seed": S}`` accounts with realistic contacts."""
    body = await _body(request)
    emulator = _emulator(request)
    ids = seed_accounts(
        emulator.state, int(body.get("accounts", 0)), int(body.get("seed", emulator.options.seed))
    )
    return JSONResponse({"accountIds": ids})


async def changes(request: Request) -> Response:
    """Apply ``{"count": N, "kinds": [...], "seed": S}`` random changes; returns them."""
    body = await _body(request)
    mutator = _emulator(request).mutator
    if "seed" in body:
        mutator.reseed(int(body["seed"]))
    return JSONResponse({"changes": mutator.apply(int(body.get("count", 1)), body.get("kinds"))})


async def faults(request: Request) -> Response:
    """GET the faults; PUT replaces them all; PATCH changes only the given ones."""
    injector = _emulator(request).faults
    if request.method == "PUT":
        injector.replace(await _body(request))
    elif request.method == "PATCH":
        injector.update(await _body(request))
    return JSONResponse(injector.snapshot())


async def settings(request: Request) -> Response:
    """GET or PATCH the live settings (see LIVE_SETTINGS)."""
    emulator = _emulator(request)
    if request.method == "PATCH":
        return JSONResponse(change_settings(emulator, await _body(request)))
    return JSONResponse(read_settings(emulator))


async def definitions(request: Request) -> Response:
    """GET the notification definitions, POST one, or DELETE them all."""
    sender = _emulator(request).callouts
    if request.method == "POST":
        definition = sender.add_definition(await _body(request))
        return JSONResponse(definition.to_dict(), status_code=201)
    if request.method == "DELETE":
        sender.clear_definitions()
    return JSONResponse({"definitions": [d.to_dict() for d in sender.definitions.values()]})


async def definition(request: Request) -> Response:
    """DELETE one notification definition."""
    if _emulator(request).callouts.remove_definition(request.path_params["definition_id"]):
        return JSONResponse({"deleted": request.path_params["definition_id"]})
    return _error(404, "No such notification definition.")


async def callouts(request: Request) -> Response:
    """GET every callout attempt (filter by ``notificationId``, ``outcome``); DELETE clears."""
    sender = _emulator(request).callouts
    if request.method == "DELETE":
        sender.clear_history()
    params = request.query_params
    entries = [
        e
        for e in sender.history_snapshot()
        if all(params.get(k) in (None, e.get(k)) for k in ("notificationId", "outcome"))
    ]
    return JSONResponse({"callouts": entries})


async def request_counts(request: Request) -> Response:
    """GET API request counts by route template; DELETE resets them."""
    emulator = _emulator(request)
    if request.method == "DELETE":
        emulator.reset_request_counts()
    return JSONResponse({"counts": emulator.request_counts()})


async def expire_tokens(request: Request) -> Response:
    """End every live OAuth token now."""
    return JSONResponse({"expired": _emulator(request).tokens.expire_all()})


async def purge_account(request: Request) -> Response:
    """Remove an account and its contacts entirely (as after a sandbox refresh)."""
    key = request.path_params["account_key"]
    try:
        _emulator(request).state.purge_account(key)
    except StateError as exc:
        return _error(404, exc.message)
    return JSONResponse({"purged": key})


async def complete_jobs(request: Request) -> Response:
    """Finish pending account deletions now instead of after the delay."""
    return JSONResponse({"cancelled": _emulator(request).state.complete_account_deletions()})


async def advance_clock(request: Request) -> Response:
    """Move the emulator's clock forward by ``{"seconds": n}``."""
    state = _emulator(request).state
    now = state.clock.advance(float((await _body(request)).get("seconds", 0)))
    return JSONResponse({"now": state.clock.render(now)})


def _guarded(handler):  # type: ignore[no-untyped-def]
    """Bad input to a control endpoint is a 400 with the reason."""

    async def wrapper(request: Request) -> Response:
        try:
            return await handler(request)
        except (ValueError, TypeError, StateError) as exc:
            return _error(400, getattr(exc, "message", None) or str(exc))

    wrapper.__doc__ = handler.__doc__
    return wrapper


ROUTES = [
    Route(f"{PREFIX}/health", _guarded(health), methods=["GET"]),
    Route(f"{PREFIX}/state", _guarded(state_dump), methods=["GET"]),
    Route(f"{PREFIX}/state/save", _guarded(state_save), methods=["POST"]),
    Route(f"{PREFIX}/seed", _guarded(seed), methods=["POST"]),
    Route(f"{PREFIX}/changes", _guarded(changes), methods=["POST"]),
    Route(f"{PREFIX}/faults", _guarded(faults), methods=["GET", "PUT", "PATCH"]),
    Route(f"{PREFIX}/settings", _guarded(settings), methods=["GET", "PATCH"]),
    Route(
        f"{PREFIX}/notification-definitions",
        _guarded(definitions),
        methods=["GET", "POST", "DELETE"],
    ),
    Route(
        f"{PREFIX}/notification-definitions/{{definition_id}}",
        _guarded(definition),
        methods=["DELETE"],
    ),
    Route(f"{PREFIX}/callouts", _guarded(callouts), methods=["GET", "DELETE"]),
    Route(f"{PREFIX}/request-counts", _guarded(request_counts), methods=["GET", "DELETE"]),
    Route(f"{PREFIX}/tokens/expire", _guarded(expire_tokens), methods=["POST"]),
    Route(f"{PREFIX}/accounts/{{account_key}}/purge", _guarded(purge_account), methods=["POST"]),
    Route(f"{PREFIX}/jobs/complete", _guarded(complete_jobs), methods=["POST"]),
    Route(f"{PREFIX}/clock/advance", _guarded(advance_clock), methods=["POST"]),
]
