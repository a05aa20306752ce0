"""Delivery agents for the transports master.cf declares.

Postfix's queue manager hands a recipient to the master.cf service named by its
transport; the service's command (``virtual``, ``lmtp``, ``smtp``, ``pipe``, ``local``)
says which program runs, and the service's ``-o`` overrides apply to it. vmail does the
same in one process: :func:`build_agents` builds one agent per ``unix`` service whose
command vmail implements, configured with the service's effective settings.
``discard``, ``error`` and ``retry`` are built into the queue manager
(:mod:`.transports`); other commands (``qmgr``, ``cleanup``, ``bounce``...) are parts of
vmail itself and need no agent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from vmail.cleanup import Cleanup, Rcpt, Submission
from vmail.config import MainConfig
from vmail.config.master import MasterConfig, Service
from vmail.delivery.local import Forward, Forwarder, LocalAgent
from vmail.delivery.pipe import PipeAgent
from vmail.delivery.request import Agent, PerRecipient
from vmail.delivery.smtp import SmtpAgent
from vmail.delivery.status_filter import with_status_filter
from vmail.delivery.virtual import VirtualAgent

log = logging.getLogger("vmail.qmgr")

AgentFactory = Callable[[MainConfig, Service], Agent]


def _virtual(config: MainConfig, service: Service) -> Agent:
    return PerRecipient(VirtualAgent(config))


def _pipe(config: MainConfig, service: Service) -> Agent:
    return PipeAgent(config, service)


def _local(config: MainConfig, service: Service) -> Agent:
    return LocalAgent(config)


def _smtp(config: MainConfig, service: Service) -> Agent:
    return SmtpAgent(config, service_name=service.name)


def _lmtp(config: MainConfig, service: Service) -> Agent:
    return SmtpAgent(config, lmtp=True, service_name=service.name)


FACTORIES: dict[str, AgentFactory] = {
    "virtual": _virtual,
    "pipe": _pipe,
    "local": _local,
    "smtp": _smtp,
    "lmtp": _lmtp,
}


def build_agents(
    config: MainConfig, master: MasterConfig, cleanup: Cleanup | None = None
) -> dict[str, Agent]:
    """One agent per master.cf delivery service vmail implements, keyed by service name.

    Without a ``virtual`` service in master.cf, ``virtual`` still gets its agent (the
    transport ``virtual_transport`` names by default). With ``cleanup``, local(8) can
    forward to non-local addresses (a new message, see :func:`cleanup_forwarder`).
    """
    agents: dict[str, Agent] = {}
    for service in master:
        if service.type != "unix":
            continue
        factory = FACTORIES.get(service.command)
        if factory is None:
            continue
        effective = service.effective(config)
        if service.command == "local" and cleanup is not None:
            agent: Agent = LocalAgent(effective, forwarder=cleanup_forwarder(cleanup))
        else:
            agent = factory(effective, service)
        # <command>_delivery_status_filter, the service's -o overrides included
        agents[service.name] = with_status_filter(agent, effective, service.command)
    if "virtual" not in agents:
        agents["virtual"] = with_status_filter(
            _virtual(config, _implicit("virtual")), config, "virtual"
        )
    return agents


def cleanup_forwarder(cleanup: Cleanup) -> Forwarder:
    """local(8)'s forwarding through cleanup, as Postfix's forward.c submits it: no
    client, no content checks or milters, virtual aliases and canonical maps applied."""

    def forward(message: Forward) -> str:
        sub = Submission(
            sender=message.sender,
            recipients=tuple(Rcpt(*recipient) for recipient in message.recipients),
            client_address="127.0.0.1",
            client_name="localhost",
            origin="forward",
            envid=message.envid,
            ret=message.ret,
        )
        return cleanup.store(sub, message.chunks)

    return forward


def agent_programs(master: MasterConfig) -> dict[str, str]:
    """Transport name -> the program its deliveries are logged under, as Postfix logs them
    (``postfix/virtual``, ``postfix/smtp`` for ``relay`` too, ``postfix/error`` for
    ``retry``): the master.cf command of each delivery service."""
    programs = {"virtual": "virtual", "discard": "discard", "error": "error", "retry": "error"}
    for service in master:
        if service.type == "unix" and service.command in (*FACTORIES, "discard", "error"):
            programs[service.name] = service.command
    return programs


def _implicit(command: str) -> Service:
    master = MasterConfig.from_text(f"{command} unix - n n - - {command}\n")
    service: Service = master.services[0]
    return service


def close_agents(agents: dict[str, Agent]) -> None:
    """Release what agents hold (cached SMTP connections...)."""
    for name, agent in agents.items():
        close = getattr(agent, "close", None)
        if callable(close):
            try:
                close()
            except Exception:
                log.exception("closing the %s agent failed", name)


__all__ = ["FACTORIES", "build_agents", "close_agents"]
