"""``GET /api/v1/route``: what happens to mail for an address — ``vmail route --json``.

``address`` may be repeated (up to 20: several RCPTs of one message); ``sender``,
``client_ip``, ``client_name``, ``helo`` and ``sasl_user`` are the CLI's options. The
answer is the document of ``docs/route-json.md`` (``"schema": 1``). A domain admin may
only explain addresses in their domains (403 otherwise): :mod:`vmail.web.route_access`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from vmail.web.deps import Context, CurrentAdmin
from vmail.web.route_access import MAX_ADDRESSES, explain

router = APIRouter(tags=["route"])
Text = Annotated[str, Query(max_length=255)]


@router.get("/route")
def route(
    actor: CurrentAdmin,
    context: Context,
    address: Annotated[list[str], Query(max_length=MAX_ADDRESSES, description="recipient address")],
    sender: Text = "",
    client_ip: Annotated[str, Query(max_length=64)] = "127.0.0.1",
    client_name: Text = "",
    helo: Text = "",
    sasl_user: Text = "",
) -> dict[str, Any]:
    return explain(
        actor,
        context,
        address,
        sender=sender,
        client_ip=client_ip,
        client_name=client_name or None,
        helo=helo or None,
        sasl_user=sasl_user or None,
    )


__all__ = ["router"]
