"""Settings of Postfix features vmail does not have are reported, not silently ignored."""

from __future__ import annotations

from pathlib import Path

from vmail.config import MainConfig
from vmail.config.master import MasterConfig
from vmail.config.unimplemented import unimplemented_settings


def test_set_features_vmail_lacks_are_named(tmp_path: Path) -> None:
    (tmp_path / "main.cf").write_text(
        "smtp_pix_workaround_maps = pcre:/etc/postfix/pix\nsmtp_tls_policy_maps =\nrelayhost = [relay]\n"
    )
    (tmp_path / "master.cf").write_text(
        "smtp inet n - n - - smtpd\n  -o smtpd_dns_reply_filter=pcre:/etc/postfix/dns\n"
    )
    warnings = unimplemented_settings(MainConfig.load(tmp_path), MasterConfig.load(tmp_path))
    assert len(warnings) == 2  # an empty setting is no feature
    assert warnings[0].endswith(
        "main.cf: smtp_pix_workaround_maps is not implemented by vmail: the setting has no effect"
    )
    assert "service smtp: -o smtpd_dns_reply_filter is not implemented" in warnings[1]
