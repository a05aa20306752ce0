"""IMAP server: selected-mailbox view, SEARCH, SORT and THREAD evaluation (no sockets here)."""
