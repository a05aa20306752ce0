"""The POP3 server: asyncio connections driving :mod:`vmail.protocol.pop3` over a mail store."""
