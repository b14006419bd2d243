"""PMP staff members (``pmp.staff``): list, one, search. Read only.

PMP's ``api/staffs`` rows are the whole ``tblstaff`` row: the password hash, reset keys,
two-factor codes and the last login address come with the name and e-mail. They are dropped at
the edge (``Staff.from_wire``), like every secret PMP hands out. A token without the staff
permission gets HTTP 403 (PmpAuthError with ``status_code`` 403). Staff search matches first
name, last name, "first last", e-mail, phone and social handles (``LIKE %term%``), inactive
staff included; an empty search lists everyone on 2.0.8, so blank terms are refused here.
"""

from __future__ import annotations

import builtins
import html
from typing import TYPE_CHECKING, ClassVar

from pydantic import Field

from bot.pmp.models import Flag, PmpRecord, RecordId, Text
from bot.pmp.resources import _Base, record_id_arg

if TYPE_CHECKING:
    from bot.pmp.client import PmpClient

__all__ = ["Staff", "StaffResource"]


def _plain(value: str | None) -> str:
    # Perfex stores names HTML-escaped ("O&#039;Brien"); shown as typed.
    return " ".join(html.unescape(value or "").split())


class Staff(PmpRecord):
    """A PMP staff member. Its id is the wire's ``staffid``. ``active`` False: deactivated
    (can't log in; PMP still lists them). ``is_not_staff``: a contractor PMP keeps apart."""

    # Not named like secrets, but no business of a Slack workspace's: where the staff member
    # last logged in from, and their second-factor settings.
    private_keys: ClassVar[frozenset[str]] = frozenset(
        {"last_ip", "two_factor_auth_enabled", "two_factor_auth_code_requested"}
    )

    id: RecordId = Field(validation_alias="staffid")
    firstname: Text = None
    lastname: Text = None
    email: Text = None
    active: Flag = None
    admin: Flag = None
    is_not_staff: Flag = None

    @property
    def full_name(self) -> str:
        """ "First Last" as typed in PMP ("" when PMP has neither)."""
        return " ".join(part for part in (_plain(self.firstname), _plain(self.lastname)) if part)

    @property
    def display_name(self) -> str:
        return self.full_name or (self.email or "").strip() or f"Staff #{self.id}"

    @property
    def is_active(self) -> bool:
        """PMP leaves ``active`` out of some answers: missing counts as active."""
        return self.active is not False


class StaffResource(_Base[Staff]):
    """Staff members (``pmp.staff``): ``list()``, ``get(id)``, ``search(term)``. Paged 3.x
    lists are followed like every list; 3.x searches go as ``?q=``."""

    def __init__(self, client: PmpClient) -> None:
        super().__init__(client, path="staffs", noun="staff member", model=Staff, id_key="staffid")

    async def list(self, *, timeout: float | None = None) -> builtins.list[Staff]:
        """Every staff member, deactivated ones included ([] when there are none)."""
        return await self._fetch_list(self._path, action="list", timeout=timeout)

    async def get(self, staff_id: int | str, *, timeout: float | None = None) -> Staff:
        """One staff member; PmpNotFoundError when there is none with that id."""
        staff_id = record_id_arg(staff_id, "staff id")
        return await self._fetch_one(f"{self._path}/{staff_id}", staff_id, timeout=timeout)

    async def search(self, term: str, *, timeout: float | None = None) -> builtins.list[Staff]:
        """Staff whose names, e-mail or phone contain ``term`` ([] for none). A blank term
        raises PmpValidationError (2.0.8 would list everyone)."""
        return await self._search(term, timeout)
