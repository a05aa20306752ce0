"""Milters: Sendmail 8 mail filter applications (opendkim, rspamd, clamav-milter) asked
by smtpd (``smtpd_milters``) and cleanup (``non_smtpd_milters``), as Postfix asks them
(MILTER_README): :mod:`.protocol` is the wire format, :mod:`.client` one application's
conversation, :mod:`.chain` the configured list for one session, :mod:`.edits` what an
application may change in a message at its end."""
