"""Sans-IO IMAP4rev1: command framing and parsing, response serialisation (RFC 3501 and more)."""
