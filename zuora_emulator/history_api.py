"""``GET /v1/notification-history/callout``: callout history in Zuora's shape [CH].

The emulator's own listing (``GET /_emulator/callouts``) has more detail (ids, request
ids, outcome); this one mirrors Zuora's fields, all strings as the SDK types them.
"""

from __future__ import annotations

import json
from datetime import datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from zuora_emulator.errors import v1_error

MAX_PAGE_SIZE = 40


async def callout_history(request: Request) -> Response:
    """Paged history; ``failedOnly`` defaults to true, as in Zuora."""
    params = request.query_params
    try:
        page = int(params.get("page", 1))
        page_size = int(params.get("pageSize", 20))
    except ValueError:
        return v1_error(request, 20, "page and pageSize must be integers.")
    if page < 1 or not 1 <= page_size <= MAX_PAGE_SIZE:
        return v1_error(request, 20, f"page >= 1 and pageSize 1-{MAX_PAGE_SIZE}.")
    failed_only = params.get("failedOnly", "true").lower() != "false"
    object_id = params.get("objectId")
    category = params.get("eventCategory")
    entries = [
        e
        for e in request.app.state.emulator.callouts.history_snapshot()
        if e["responseCode"] is not None
        and (not failed_only or e["responseCode"] != 200)
        and (not object_id or object_id in (e["accountId"], e["contactId"]))
        and (not category or category == e["eventCategory"])
    ]
    chunk = entries[(page - 1) * page_size : page * page_size]
    body: dict[str, object] = {
        "calloutHistories": [
            {
                "attemptedNum": str(e["attemptedNum"]),
                "createTime": datetime.fromisoformat(e["createTime"]).strftime("%Y-%m-%dT%H:%M:%S"),
                "eventCategory": e["eventCategory"],
                "eventContext": json.dumps(e["eventContext"], ensure_ascii=False),
                "notification": e["notification"],
                "requestMethod": e["requestMethod"],
                "requestUrl": e["requestUrl"],
                "responseCode": str(e["responseCode"]),
                "responseContent": e["responseContent"],
            }
            for e in chunk
        ],
        "success": True,
    }
    if page * page_size < len(entries):
        query = dict(request.query_params)
        query["page"] = str(page + 1)
        body["nextPage"] = str(request.url.include_query_params(**query))
    return JSONResponse(body)


ROUTES = [Route("/v1/notification-history/callout", callout_history, methods=["GET"])]
