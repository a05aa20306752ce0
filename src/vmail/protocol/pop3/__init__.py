"""Sans-IO POP3 (RFC 1939, 2449, 5034, 2595): command parsing, replies, session states."""
