"""Declarations of vmail's mailbox-access settings: ``imapd_*``, ``pop3d_*`` and ``mail_*``.

These are vmail's own (Postfix has no IMAP or POP3 server); the names follow Postfix's
conventions and the defaults follow Dovecot 2.3's where Dovecot has the same setting
(named in each description), so a Dovecot admin finds familiar behaviour. TLS settings
default to the SMTP server's certificate, so one certificate serves every protocol.
"""

# ruff: noqa: E501
from __future__ import annotations

from vmail.config.kinds import B, I, L, Parameter, S, T, Z
from vmail.config.kinds import declare as _p

# fmt: off
ACCESS_PARAMETERS: tuple[Parameter, ...] = (
    # -- the mail store ------------------------------------------------------------------
    _p('mail_location', S, '', "Where a user's Maildir++ lives. Empty: $virtual_mailbox_base joined with the mailbox's maildir column (as virtual(8) delivers). Else a Dovecot-style template such as maildir:/home/vmail/%d/%n (%u user, %n local part, %d domain)."),
    _p('mail_hierarchy_separator', S, '.', "IMAP hierarchy separator of the private namespace (Dovecot's namespace separator; Maildir++ layout stores A.B as the directory .A.B either way). '.' or '/'."),
    _p('mail_special_use_folders', L, 'Drafts=\\Drafts, Sent=\\Sent, Trash=\\Trash, Junk=\\Junk, Archive=\\Archive', 'Folder name = SPECIAL-USE attribute (RFC 6154), like Dovecot\'s mailbox { special_use } blocks.'),
    _p('mail_autocreate_folders', L, 'Drafts, Sent, Trash, Junk', 'Folders created (and subscribed) at a user\'s first login, like Dovecot\'s auto = subscribe.'),
    _p('mail_fsync', S, 'optimized', "When the store calls fsync: optimized (before a message becomes visible and for index/uidlist renames) or always or never (Dovecot's mail_fsync)."),
    _p('mail_max_userip_connections', I, '10', "Most IMAP (and, separately, POP3) sessions one user may have from one IP address (Dovecot's mail_max_userip_connections)."),
    _p('virtual_mailbox_quota_maps', L, '', "Lookup tables with each mailbox's quota in bytes (0 or not found: unlimited), searched like virtual_mailbox_maps; empty: the limits in the mailbox's maildirsize apply. A full mailbox bounces with 5.2.2, as Dovecot's LMTP does (vmail-only: Postfix's virtual(8) has no quota)."),
    _p('mail_quota_warning', L, '', 'Quota warnings: PERCENT=COMMAND entries run (as the mail owner) when a delivery takes usage over PERCENT of the limit, like Dovecot\'s quota_warning.'),
    # -- IMAP ----------------------------------------------------------------------------
    _p('imapd_banner', S, '', 'Greeting text after "* OK [CAPABILITY ...]"; empty: "<mail_name> ready." (vmail unless mail_name is set).'),
    _p('imapd_tls_security_level', S, 'may', 'none: no STARTTLS; may: offer STARTTLS; encrypt: require TLS before LOGIN/AUTHENTICATE.'),
    _p('imapd_tls_wrappermode', B, 'no', 'Implicit TLS (port 993), set with -o in master.cf.'),
    _p('imapd_tls_cert_file', S, '$smtpd_tls_cert_file', 'Server certificate file (PEM) for IMAP.'),
    _p('imapd_tls_key_file', S, '$smtpd_tls_key_file', 'Private key for imapd_tls_cert_file.'),
    _p('imapd_tls_auth_only', B, 'yes', "Refuse plaintext LOGIN/AUTHENTICATE without TLS and advertise LOGINDISABLED (Dovecot's disable_plaintext_auth). Connections from 127.0.0.1/::1 are treated as secure, as Dovecot does."),
    _p('imapd_timeout', T, '30m', 'Idle time after which an authenticated session is logged out (RFC 3501: at least 30 minutes).', unit='s'),
    _p('imapd_write_timeout', T, '60s', 'Time a client may take to read what the server sent; a client that stops reading is disconnected (the others are not held up).', unit='s'),
    _p('imapd_login_timeout', T, '60s', 'Time a client has to log in.', unit='s'),
    _p('imapd_max_line_length', Z, '65536', "Longest command line (Dovecot's imap_max_line_length)."),
    _p('imapd_max_unauthenticated_literal', Z, '8192', 'Largest literal accepted before login.'),
    _p('imapd_append_limit', Z, '$message_size_limit', 'Largest message APPEND accepts (advertised as APPENDLIMIT).'),
    _p('imapd_idle_notify_interval', T, '2m', "While IDLE, send '* OK Still here' this often (Dovecot's imap_idle_notify_interval).", unit='s'),
    _p('imapd_client_limit', I, '1000', 'Most concurrent IMAP sessions per listener.'),
    _p('imapd_capabilities_hidden', L, '', 'Capabilities not to advertise (for broken clients).'),
    # -- POP3 ----------------------------------------------------------------------------
    _p('pop3d_banner', S, '', 'Greeting text after "+OK"; empty: "<mail_name> ready.".'),
    _p('pop3d_tls_security_level', S, 'may', 'none, may (offer STLS) or encrypt (require TLS before USER/PASS/AUTH).'),
    _p('pop3d_tls_wrappermode', B, 'no', 'Implicit TLS (port 995), set with -o in master.cf.'),
    _p('pop3d_tls_cert_file', S, '$smtpd_tls_cert_file', 'Server certificate file (PEM) for POP3.'),
    _p('pop3d_tls_key_file', S, '$smtpd_tls_key_file', 'Private key for pop3d_tls_cert_file.'),
    _p('pop3d_tls_auth_only', B, 'yes', 'Refuse plaintext authentication without TLS (loopback counts as secure).'),
    _p('pop3d_timeout', T, '10m', 'Idle time after which a session is closed (RFC 1939: at least 10 minutes).', unit='s'),
    _p('pop3d_uidl_format', S, '%08Xu%08Xv', "UIDL format (Dovecot's pop3_uidl_format): %u UID, %v UIDVALIDITY, %g/%f Maildir base name; printf-style width and X/x."),
    _p('pop3d_lock_session', B, 'yes', "Allow one POP3 session per mailbox at a time (Dovecot's pop3_lock_session)."),
    _p('pop3d_client_limit', I, '1000', 'Most concurrent POP3 sessions per listener.'),
)
# fmt: on
