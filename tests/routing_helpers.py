"""Build a Router from main.cf text and table files written into a temporary directory."""

from __future__ import annotations

from pathlib import Path

from vmail.config import MainConfig
from vmail.policy.evaluation import Client
from vmail.route import RecipientReport, Router

BASE = """\
myhostname = mail.example.net
mydomain = example.net
myorigin = $myhostname
mydestination = $myhostname, localhost.$mydomain, localhost
mynetworks = 127.0.0.0/8
alias_maps =
local_recipient_maps =
"""

INSIDE = Client("127.0.0.1", "localhost")
OUTSIDE = Client("192.0.2.7", "unknown")


def make_router(tmp_path: Path, main_cf: str, files: dict[str, str] | None = None) -> Router:
    """Write files, then ``BASE + main_cf`` as main.cf (``{dir}`` = the directory)."""
    for name, text in (files or {}).items():
        (tmp_path / name).write_text(text)
    text = (BASE + main_cf).replace("{dir}", str(tmp_path))
    (tmp_path / "main.cf").write_text(text)
    return Router(MainConfig.load(tmp_path))


def route1(router: Router, address: str, client: Client = INSIDE) -> RecipientReport:
    return router.route([address], client)[0]


def finals(report: RecipientReport) -> list[tuple[str, str, str]]:
    """(recipient, transport, nexthop) of each delivery."""
    return [(d.recipient, d.transport, d.nexthop) for d in report.deliveries]
