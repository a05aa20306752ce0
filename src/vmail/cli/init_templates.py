"""The text of the files ``vmail init`` writes: main.cf, master.cf and the SQL ``.cf`` maps.

main.cf follows the virtual-user how-to (Postfix + Dovecot + PostfixAdmin): virtual
mailbox domains, mailboxes and aliases come from PostfixAdmin's tables through SQL maps,
including the alias-domain maps PostfixAdmin documents; relaying needs mynetworks or SASL;
TLS uses the generated certificate; AUTH only after STARTTLS. master.cf listens on
unprivileged ports unless ``standard_ports`` is set.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL

from vmail import __version__

CERT_FILE = "vmail.crt"
KEY_FILE = "vmail.key"
DATABASE_FILE = "vmail.db"
MAIL_DIR = "mail"
SPOOL_DIR = "spool"


@dataclass(frozen=True)
class Setup:
    """Everything the generated files depend on."""

    config_dir: Path
    data_dir: Path
    hostname: str
    uid: int
    gid: int
    database: URL
    standard_ports: bool = False

    @property
    def dialect(self) -> str:
        """``sqlite``, ``mysql`` or ``pgsql``: the Postfix table type of the SQL maps."""
        name = self.database.get_backend_name()
        return {"postgresql": "pgsql"}.get(name, name)

    @property
    def default_sqlite(self) -> bool:
        """Whether the database is the SQLite file in the data directory."""
        return self.dialect == "sqlite" and self.database.database == str(
            self.data_dir / DATABASE_FILE
        )


# map file name (without .cf) -> (purpose, query template); {user_at_target} and
# {catchall_target} are the dialect's spelling of '%u@target' and '@target'.
MAPS: dict[str, tuple[str, str]] = {
    "virtual_mailbox_domains": (
        "domains whose mailboxes are here (PostfixAdmin's domain table; not backup MX)",
        "SELECT domain FROM domain WHERE domain='%s' AND backupmx = '0' AND active = '1'",
    ),
    "virtual_mailbox_maps": (
        "mailbox address -> maildir, relative to virtual_mailbox_base",
        "SELECT maildir FROM mailbox WHERE username='%s' AND active = '1'",
    ),
    "virtual_alias_domain_mailbox_maps": (
        "user@ALIAS-DOMAIN -> the maildir of user@TARGET-DOMAIN",
        "SELECT maildir FROM mailbox, alias_domain"
        " WHERE alias_domain.alias_domain = '%d'"
        " AND mailbox.username = {user_at_target}"
        " AND mailbox.active = '1' AND alias_domain.active = '1'",
    ),
    "virtual_mailbox_quota_maps": (
        "mailbox address -> its quota in bytes (0: unlimited; Dovecot's quota_rule)",
        "SELECT quota FROM mailbox WHERE username='%s' AND active = '1'",
    ),
    "virtual_alias_domain_quota_maps": (
        "user@ALIAS-DOMAIN -> the quota of user@TARGET-DOMAIN",
        "SELECT mailbox.quota FROM mailbox, alias_domain"
        " WHERE alias_domain.alias_domain = '%d'"
        " AND mailbox.username = {user_at_target}"
        " AND mailbox.active = '1' AND alias_domain.active = '1'",
    ),
    "virtual_alias_maps": (
        "alias address (or @domain catch-all) -> comma-separated destinations",
        "SELECT goto FROM alias WHERE address='%s' AND active = '1'",
    ),
    "virtual_alias_domain_maps": (
        "user@ALIAS-DOMAIN -> the aliases of user@TARGET-DOMAIN",
        "SELECT goto FROM alias, alias_domain"
        " WHERE alias_domain.alias_domain = '%d'"
        " AND alias.address = {user_at_target}"
        " AND alias.active = '1' AND alias_domain.active = '1'",
    ),
    "virtual_alias_domain_catchall_maps": (
        "anything@ALIAS-DOMAIN -> the catch-all (@TARGET-DOMAIN) of the target domain",
        "SELECT goto FROM alias, alias_domain"
        " WHERE alias_domain.alias_domain = '%d'"
        " AND alias.address = {catchall_target}"
        " AND alias.active = '1' AND alias_domain.active = '1'",
    ),
    "transport_maps": (
        "domain -> its transport (PostfixAdmin's domain.transport; empty: the default)",
        "SELECT transport FROM domain WHERE domain='%s' AND transport <> '' AND active = '1'",
    ),
}

# main.cf parameter -> its maps, in lookup order
MAP_PARAMETERS = {
    "virtual_mailbox_domains": ["virtual_mailbox_domains"],
    "virtual_mailbox_maps": ["virtual_mailbox_maps", "virtual_alias_domain_mailbox_maps"],
    "virtual_mailbox_quota_maps": ["virtual_mailbox_quota_maps", "virtual_alias_domain_quota_maps"],
    "virtual_alias_maps": [
        "virtual_alias_maps",
        "virtual_alias_domain_maps",
        "virtual_alias_domain_catchall_maps",
    ],
    "transport_maps": ["transport_maps"],
}


def query(name: str, dialect: str) -> str:
    """The SQL of map ``name`` for ``dialect`` (MySQL concatenates with CONCAT, others ||)."""
    target = "alias_domain.target_domain"
    if dialect == "mysql":
        user_at_target = f"CONCAT('%u', '@', {target})"
        catchall_target = f"CONCAT('@', {target})"
    else:
        user_at_target = f"'%u' || '@' || {target}"
        catchall_target = f"'@' || {target}"
    return MAPS[name][1].format(user_at_target=user_at_target, catchall_target=catchall_target)


def sql_cf(setup: Setup, name: str) -> str:
    """The ``.cf`` file of map ``name``: how to reach the database, and the query."""
    lines = [
        f"# {name}.cf, written by vmail init {__version__}.",
        f"# {MAPS[name][0]}.",
        f"# Postfix {setup.dialect}_table(5) syntax; PostfixAdmin's schema.",
    ]
    url = setup.database
    if setup.dialect == "sqlite":
        lines.append(f"dbpath = {url.database}")
    else:
        lines += [
            f"hosts = {_hosts(url, setup.dialect)}",
            f"user = {url.username or ''}",
            f"password = {url.password or ''}",
            f"dbname = {url.database}",
        ]
    lines.append(f"query = {query(name, setup.dialect)}")
    return "\n".join(lines) + "\n"


def _hosts(url: URL, dialect: str) -> str:
    socket = url.query.get("unix_socket")
    if dialect == "mysql" and isinstance(socket, str):
        return f"unix:{socket}"
    host = url.host or "localhost"
    port = url.port or (3306 if dialect == "mysql" else 5432)
    if ":" in host:
        host = f"[{host}]"
    return f"inet:{host}:{port}"


def _table_type(setup: Setup) -> str:
    # The how-to shares connections through proxymap for its MySQL maps; a SQLite file
    # needs no connection to share.
    return "sqlite:" if setup.dialect == "sqlite" else f"proxy:{setup.dialect}:"


def _map_list(setup: Setup, parameter: str) -> str:
    names = MAP_PARAMETERS[parameter]
    specs = [f"{_table_type(setup)}${{config_directory}}/{name}.cf" for name in names]
    return ",\n    ".join(specs)


def database_setting(setup: Setup) -> str:
    """The ``vmail_database`` value ('$' doubled, as main.cf expands it)."""
    if setup.default_sqlite:
        return f"sqlite:///$vmail_data_directory/{DATABASE_FILE}"
    return setup.database.render_as_string(hide_password=False).replace("$", "$$")


def main_cf(setup: Setup) -> str:
    """main.cf for a virtual-user mail system on PostfixAdmin's schema."""
    return f"""\
# main.cf, written by vmail init {__version__}. Postfix syntax and parameter names;
# vmail-only settings start with vmail_. Modelled on the virtual-user how-to (Postfix +
# Dovecot + PostfixAdmin): domains, mailboxes and aliases live in PostfixAdmin's tables.
# "vmail postconf -n" shows what is set here; "vmail route ADDRESS" explains routing.

# --- This host -------------------------------------------------------------------
myhostname = {setup.hostname}
# Mail for these domains is for this host itself; every real domain is virtual.
mydestination = localhost
relay_domains = $mydestination
# Clients allowed to relay without authenticating: this host only.
mynetworks = 127.0.0.0/8, [::1]/128

# --- vmail's own state -------------------------------------------------------------
vmail_data_directory = {setup.data_dir}
# The directory database (SQLAlchemy URL); "vmail init" created its tables.
vmail_database = {database_setting(setup)}
queue_directory = $vmail_data_directory/{SPOOL_DIR}

# --- Virtual domains, mailboxes and aliases from the database -----------------------
virtual_mailbox_domains = {_map_list(setup, "virtual_mailbox_domains")}
virtual_mailbox_maps = {_map_list(setup, "virtual_mailbox_maps")}
virtual_mailbox_quota_maps = {_map_list(setup, "virtual_mailbox_quota_maps")}
virtual_alias_maps = {_map_list(setup, "virtual_alias_maps")}
# A domain's transport field (the admin UI's "Transport") routes its mail: e.g.
# lmtp:unix:private/dovecot-lmtp, or smtp:[mx.example.net] for a backup MX.
transport_maps = {_map_list(setup, "transport_maps")}
virtual_mailbox_base = $vmail_data_directory/{MAIL_DIR}
virtual_mailbox_limit = 512000000
virtual_minimum_uid = {setup.uid}
virtual_transport = virtual
virtual_uid_maps = static:{setup.uid}
virtual_gid_maps = static:{setup.gid}
local_transport = virtual
local_recipient_maps = $virtual_mailbox_maps
# No local(8) users, so no aliases(5) file either.
alias_maps =
alias_database =

# --- SMTP server: who may send where -----------------------------------------------
smtpd_recipient_restrictions = permit_mynetworks, permit_sasl_authenticated,
    reject_unauth_destination
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated,
    reject_unauth_destination
# Submissions (logged-in users, mynetworks) get missing Message-Id:, Date: and From:.
local_header_rewrite_clients = permit_mynetworks, permit_sasl_authenticated

# --- SASL: mailbox users log in with their PostfixAdmin password --------------------
smtpd_sasl_auth_enable = yes
smtpd_sasl_security_options = noanonymous
smtpd_sasl_tls_security_options = $smtpd_sasl_security_options
smtpd_sasl_local_domain = $mydomain

# --- TLS: a self-signed certificate for $myhostname; replace both files with real ones
smtpd_tls_security_level = may
smtpd_tls_auth_only = yes
smtpd_tls_received_header = yes
smtpd_tls_cert_file = ${{config_directory}}/{CERT_FILE}
smtpd_tls_key_file = ${{config_directory}}/{KEY_FILE}
smtpd_tls_loglevel = 1
smtp_tls_security_level = may
smtp_tls_loglevel = 1
"""


def master_cf(setup: Setup) -> str:
    """master.cf: SMTP, submission and submissions, IMAP, POP3 and web (HTTPS on 8443)
    listeners plus the delivery agents."""
    if setup.standard_ports:
        smtp, submission, submissions = "smtp", "submission", "submissions"
        imap, imaps, pop3, pop3s = "imap", "imaps", "pop3", "pop3s"
    else:
        smtp, submission, submissions = "2525", "5587", "4465"
        imap, imaps, pop3, pop3s = "1143", "1993", "1110", "1995"
    return f"""\
# master.cf, written by vmail init {__version__}. Postfix syntax.
#
# The listeners use unprivileged ports ({smtp}, {submission}, {submissions}; IMAP {imap}
# and {imaps}, POP3 {pop3} and {pop3s} unless --standard-ports was given) so that vmail runs
# as an ordinary user. For production, change the first field of the inet lines to smtp
# (port 25), submission (587), submissions (465), imap, imaps, pop3 and pop3s -- or run
# "vmail init --standard-ports --force" -- and start vmail as root: it binds the ports,
# then works as the virtual_uid_maps user.
#
# ==========================================================================
# service type  private unpriv  chroot  wakeup  maxproc command + args
# ==========================================================================
{smtp:<9} inet  n       -       n       -       -       smtpd
{submission:<9} inet  n       -       n       -       -       smtpd
  -o syslog_name=vmail/submission
  -o smtpd_tls_security_level=encrypt
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
{submissions:<9} inet  n       -       n       -       -       smtpd
  -o syslog_name=vmail/submissions
  -o smtpd_tls_wrappermode=yes
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
# Mailbox access: vmail's IMAP and POP3 servers (Dovecot's job in a Postfix setup).
{imap:<9} inet  n       -       n       -       -       imapd
  -o syslog_name=vmail/imap
{imaps:<9} inet  n       -       n       -       -       imapd
  -o syslog_name=vmail/imaps
  -o imapd_tls_wrappermode=yes
{pop3:<9} inet  n       -       n       -       -       pop3d
  -o syslog_name=vmail/pop3
{pop3s:<9} inet  n       -       n       -       -       pop3d
  -o syslog_name=vmail/pop3s
  -o pop3d_tls_wrappermode=yes
# The admin web UI and REST API over HTTPS (https://HOST:8443/): vmail's own "webd".
8443      inet  n       -       n       -       -       webd
  -o syslog_name=vmail/web
  -o web_tls_wrappermode=yes
# LMTP for mail another MTA hands over (vmail's own "lmtpd"; local recipients only):
#127.0.0.1:24 inet n     -       n       -       -       lmtpd
# Delivery agents.
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
lmtp      unix  -       -       n       -       -       lmtp
virtual   unix  -       n       n       -       -       virtual
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
"""
