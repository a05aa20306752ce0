"""Declarations of vmail's web settings: ``web_*`` (the admin UI and REST API, ``webd``).

vmail's own (Postfix has none). TLS defaults to the SMTP server's certificate, as the
IMAP and POP3 servers do, so one certificate serves every protocol. Login throttling
follows the authentication service's defaults (:mod:`vmail.auth.throttle`).
"""

# ruff: noqa: E501
from __future__ import annotations

from vmail.config.kinds import B, I, L, Parameter, S, T
from vmail.config.kinds import declare as _p

# fmt: off
WEB_PARAMETERS: tuple[Parameter, ...] = (
    _p('web_tls_wrappermode', B, 'no', 'Serve HTTPS (implicit TLS) instead of plain HTTP, set with -o in master.cf. With it, session cookies are Secure and responses carry Strict-Transport-Security.'),
    _p('web_tls_cert_file', S, '$smtpd_tls_cert_file', 'Server certificate file (PEM) for HTTPS.'),
    _p('web_tls_key_file', S, '$smtpd_tls_key_file', 'Private key for web_tls_cert_file.'),
    _p('web_session_timeout', T, '1h', 'Idle time after which a web session ends and the user must log in again.', unit='s'),
    _p('web_secret_file', S, '$config_directory/web-secret', 'File with the key that signs session cookies; created (mode 0600, random) at the first start when missing. Replacing it logs everybody out.'),
    _p('web_base_url', S, '', 'The public URL of the web service (https://mail.example.com/admin/) behind a proxy; empty: taken from each request.'),
    _p('web_login_user_failures', I, '10', 'Failed web logins for one username (within 15 minutes) after which that username is locked out for web_login_lockout_time.'),
    _p('web_login_client_failures', I, '30', 'Failed web logins from one client address (within 15 minutes) after which that address is locked out for web_login_lockout_time.'),
    _p('web_login_lockout_time', T, '5m', 'How long a locked-out username or client address may not try to log in on the web.', unit='s'),
    _p('web_login_exempt_clients', L, '', 'Client addresses (a trusted reverse proxy) without a per-address login failure counter.'),
    _p('web_client_limit', I, '1000', 'Most concurrent HTTP connections per listener (per web process).'),
    _p('web_processes', I, '2', 'Processes that serve the webd listeners, forked by vmail serve beside the delivery process (so the admin UI uses other cores than SMTP, IMAP and POP3, and each other); 0 serves HTTP in the master process. Read at start (a reload keeps the number). Failed logins are counted in the master for all of them.'),
)
# fmt: on
