"""The SASL interface the SMTP core needs, structurally matching :mod:`vmail.auth.sasl`.

``vmail.protocol`` sits below ``vmail.auth`` in the layers, so the core never imports the
mechanisms; the server passes a factory in (``vmail.auth.sasl.new_exchange`` fits as is).
A step with a ``line`` is a challenge, one with ``cancelled`` a failure; anything else is
the client's credentials, handed to the server untouched in an ``AuthCredentials`` event.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable


@runtime_checkable
class SaslChallenge(Protocol):
    """Data to send as ``334 <line>``."""

    @property
    def line(self) -> bytes: ...


@runtime_checkable
class SaslFailed(Protocol):
    """The exchange ended without credentials."""

    @property
    def cancelled(self) -> bool: ...


@runtime_checkable
class SaslExchanger(Protocol):
    """One server-side exchange (see ``vmail.auth.sasl.SaslExchange``)."""

    def start(self, initial_response: bytes | None = None) -> object: ...

    def respond(self, line: bytes) -> object: ...


SaslFactory = Callable[[str], object]
"""``factory(mechanism)`` returns a :class:`SaslExchanger` or a failure for unknown ones."""
