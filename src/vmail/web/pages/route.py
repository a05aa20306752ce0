"""The route explainer page (``/route``): what ``vmail route`` says about an address —
the RCPT verdict, the delivery set after virtual alias expansion, and the table lookups
that decided it — rendered from :mod:`vmail.route_report`'s document.

A GET form (nothing changes, so no CSRF token, and the result can be linked to). Who may
explain what is :mod:`vmail.web.route_access`'s: superadmins anything, domain admins
addresses in their domains only (403 otherwise).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import Response

from vmail.route_report import lookup_outcome
from vmail.web.deps import Context, CurrentAdmin
from vmail.web.route_access import explain
from vmail.web.templating import render

router = APIRouter()
Text = Annotated[str, Query(max_length=255)]


@router.get("/route")
def route_page(
    request: Request,
    actor: CurrentAdmin,
    context: Context,
    address: Text = "",
    sender: Text = "",
    client_ip: Annotated[str, Query(max_length=64)] = "127.0.0.1",
    client_name: Text = "",
    helo: Text = "",
    sasl_user: Text = "",
) -> Response:
    form = {
        "address": address,
        "sender": sender,
        "client_ip": client_ip,
        "client_name": client_name,
        "helo": helo,
        "sasl_user": sasl_user,
    }
    result = None
    if address.strip():
        result = explain(
            actor,
            context,
            [address],
            sender=sender,
            client_ip=client_ip,
            client_name=client_name or None,
            helo=helo or None,
            sasl_user=sasl_user or None,
        )
    return render(
        request,
        "route.html",
        {"form": form, "result": result, "outcome": lookup_outcome, "actor": actor},
    )


__all__ = ["router"]
