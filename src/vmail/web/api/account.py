"""``/api/v1/account/*``: a mailbox user's own password and vacation, over their session.

For a browser session of a mailbox user (cookie, and ``X-CSRF-Token`` on PUT); an admin
session or an API token gets 403. ``PUT /account/password`` is
:func:`vmail.web.selfservice.change_password` (a wrong current password is 401 and counts
as a failed login; 429 while locked out). The vacation's fields are PostfixAdmin's
``vacation`` columns; ``PUT`` replaces all of them (dates omitted or null: no limit).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Request, Response
from pydantic import Field

from vmail.admin import Actor
from vmail.admin.vacation import MAX_BODY
from vmail.web.api.schemas import INT32, Input, Name, Output, Password, Storable
from vmail.web.deps import CurrentUser, Service
from vmail.web.selfservice import change_password

router = APIRouter(prefix="/account", tags=["account"])

CurrentPassword = Annotated[str, Field(min_length=1, max_length=1024), Storable]
Body = Annotated[str, Field(max_length=MAX_BODY), Storable]


class Vacation(Output):
    """The vacation (out-of-office) reply; ``interval_time``: seconds between two replies
    to one sender (0: only once)."""

    email: str
    subject: str
    body: str
    activefrom: datetime
    activeuntil: datetime
    interval_time: int
    active: bool


class VacationUpdate(Input):
    subject: Name = ""
    body: Body = ""
    activefrom: datetime | None = None
    activeuntil: datetime | None = None
    interval_time: Annotated[int, Field(ge=0, le=INT32)] = 0
    active: bool = True


class PasswordChange(Input):
    old_password: CurrentPassword
    new_password: Password


@router.get("/vacation")
def get_vacation(user: CurrentUser, service: Service) -> Vacation:
    return Vacation.model_validate(service.get_vacation(Actor.user(user), user))


@router.put("/vacation")
def put_vacation(user: CurrentUser, service: Service, body: VacationUpdate) -> Vacation:
    stored = service.set_vacation(
        Actor.user(user),
        user,
        subject=body.subject,
        body=body.body,
        active_from=body.activefrom,
        active_until=body.activeuntil,
        interval_time=body.interval_time,
        active=body.active,
    )
    return Vacation.model_validate(stored)


@router.put("/password", status_code=204, response_class=Response)
async def put_password(
    request: Request, user: CurrentUser, service: Service, body: PasswordChange
) -> Response:
    await change_password(request, service, user, body.old_password, body.new_password)
    return Response(status_code=204)


__all__ = ["PasswordChange", "Vacation", "VacationUpdate", "router"]
