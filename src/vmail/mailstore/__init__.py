"""Layer 2: Dovecot-compatible Maildir++ mail store (files, names, flags, quota, index)."""
