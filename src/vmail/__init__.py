"""vmail: a complete virtual-user mail system, compatible with Postfix and Dovecot."""

__version__ = "0.1.0"
