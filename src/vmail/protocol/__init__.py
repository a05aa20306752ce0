"""Sans-IO protocol cores (L1): parsers and state machines that take bytes and return events.

Nothing here opens sockets, reads files or knows about configuration files; the servers
(L4) feed bytes in, act on the events and pass decisions back.
"""
