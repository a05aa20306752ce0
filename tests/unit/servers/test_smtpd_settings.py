"""smtpd listener settings that are refused before any client is served."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.servers.helpers import setup
from vmail.cleanup import Cleanup
from vmail.core.errors import ConfigError
from vmail.servers.smtpd.settings import Settings


def test_an_unknown_receive_override_option_is_a_configuration_error(tmp_path: Path) -> None:
    router, spool = setup(tmp_path, "receive_override_options = no_address_mapping\n")
    with pytest.raises(ConfigError, match="receive_override_options: unknown value"):
        Settings(router.config, router, Cleanup(router.config, router, spool))
