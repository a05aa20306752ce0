"""Postfix-compatible configuration: ``main.cf`` and ``master.cf`` in Postfix syntax."""

from vmail.config.main import MainConfig

__all__ = ["MainConfig"]
