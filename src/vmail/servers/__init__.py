"""L4: network servers (smtpd, later imapd, pop3d, lmtpd) driving the sans-IO protocols."""
