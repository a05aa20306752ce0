"""The SMTP server: :class:`SmtpServer` drives :class:`vmail.protocol.smtp.ServerSession`
over asyncio streams and hands messages to :mod:`vmail.cleanup`."""

from vmail.servers.smtpd.server import SmtpServer, session_config

__all__ = ["SmtpServer", "session_config"]
