"""Per-destination TLS policy of smtp(8)/lmtp(8): ``smtp_tls_policy_maps`` and the levels.

What Postfix's smtp_tls_policy.c does, for vmail's client:

* The table is searched with the next-hop destination as written (``example.com``,
  ``[mx.example.com]``, ``[mx.example.com]:587``, ``example.com:2525``; the path of an
  LMTP ``unix:`` socket). Only a destination that is a plain host name is also searched
  by its parent domains: ``sub.example.com``, then ``.example.com``, then ``.com``
  (``parent_domain_matches_subdomains`` plays no part). The first key found decides.
* The value is a level (``none may encrypt dane dane-only fingerprint verify secure``)
  and attributes (``ciphers= protocols= exclude= match= tafile= servername=
  connection_reuse=``), separated by white space or commas. The level replaces
  ``smtp_tls_security_level``; attributes replace the matching main.cf settings.
* A bad entry, or a table that cannot answer, makes the destination's policy invalid:
  Postfix's warning is logged and the mail is deferred (``4.7.5 client TLS
  configuration problem``); it is never sent with less TLS than asked for.
* vmail has no DNSSEC-validating resolver: ``dane`` becomes ``may`` and ``dane-only``
  is invalid, with Postfix's warning for a client without DNSSEC lookups.

:class:`TlsPolicy` is the outcome for one destination; it checks the server's
certificate after the handshake (``Server certificate not verified``).
"""

from __future__ import annotations

import hashlib
import logging
import re
import socket
import ssl
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from vmail.core.errors import ConfigError, TableError
from vmail.protocol.smtp.hostnames import is_ip_address, valid_hostname
from vmail.tables import Maps

log = logging.getLogger("vmail.delivery.smtp")

LEVELS = ("none", "may", "encrypt", "dane", "dane-only", "fingerprint", "verify", "secure")
CONFIG_PROBLEM = "client TLS configuration problem"
# Postfix 3.7 has this one text for an untrusted certificate, a name or a fingerprint
# that does not match (its smtp(8) has no "Server certificate not trusted")
NOT_VERIFIED = "Server certificate not verified"
HANDSHAKE_FAILURE = "Cannot start TLS: handshake failure"

_SEPARATORS = re.compile(r"[\t\n\r ,]+")
_PROTOCOLS = ("SSLv2", "SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
_VERSIONS = {
    "SSLv3": ssl.TLSVersion.SSLv3,
    "TLSv1": ssl.TLSVersion.TLSv1,
    "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2,
    "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}
# tls_{export,low,medium,high,null}_cipherlist, as Postfix 3.7 defaults them
_GRADES = {
    "export": "aNULL:-aNULL:HIGH:MEDIUM:LOW:EXPORT:+RC4:@STRENGTH",
    "low": "aNULL:-aNULL:HIGH:MEDIUM:LOW:+RC4:@STRENGTH",
    "medium": "aNULL:-aNULL:HIGH:MEDIUM:+RC4:@STRENGTH",
    "high": "aNULL:-aNULL:HIGH:@STRENGTH",
    "null": "eNULL:!aNULL",
}


class TlsPolicyError(Exception):
    """No usable policy for a destination: the delivery defers with ``dsn`` and ``reason``."""

    def __init__(self, reason: str = CONFIG_PROBLEM, dsn: str = "4.7.5") -> None:
        super().__init__(reason)
        self.reason = reason
        self.dsn = dsn


@dataclass(frozen=True)
class TlsPolicy:
    """The TLS policy for one destination (hashable: it is part of connection-cache keys).

    ``level`` is ``none``, ``may``, ``encrypt``, ``fingerprint``, ``verify`` or
    ``secure``; ``match`` holds name patterns (verify, secure) or digests (fingerprint).
    """

    level: str = "none"
    context: ssl.SSLContext | None = None
    server_name: str = ""  # SNI: "", "hostname", "nexthop" or a host name
    match: tuple[str, ...] = ()
    nexthop: str = ""  # the next-hop domain: "nexthop" in match= and servername=
    digest: str = "sha256"
    reuse: bool = False  # connection_reuse: park TLS connections for reuse
    problem: str = ""  # a bad ciphers=/protocols=: each TLS session is aborted with this

    @property
    def required(self) -> bool:
        """Whether mail must not go in plaintext (every level above ``may``)."""
        return self.level not in ("none", "may")

    @property
    def verify(self) -> bool:
        """Whether the certificate must be trusted (``verify`` and ``secure``)."""
        return self.level in ("verify", "secure")

    def sni(self, hostname: str) -> str | None:
        """The name to send in the TLS SNI extension, if any."""
        name = {"hostname": hostname, "nexthop": self.nexthop}.get(self.server_name)
        name = name if name is not None else self.server_name
        return name if name and not is_ip_address(name) else None

    def check_peer(self, certificate: bytes | None, hostname: str) -> str | None:
        """Postfix's reason to refuse the server's certificate (DER), or None."""
        if self.level not in ("fingerprint", "verify", "secure"):
            return None
        if certificate is None:
            return NOT_VERIFIED
        if self.level == "fingerprint":
            digests = _digests(certificate, self.digest)
            return None if any(d in digests for d in self.match) else NOT_VERIFIED
        for name in certificate_names(certificate):
            for pattern in self.match:
                if _name_matches(name, pattern, hostname, self.nexthop):
                    return None
        return NOT_VERIFIED


def peer_certificate(sock: socket.socket) -> bytes | None:
    """The server's certificate (DER) on a TLS socket, or None."""
    return sock.getpeercert(binary_form=True) if isinstance(sock, ssl.SSLSocket) else None


def certificate_names(der: bytes) -> list[str]:
    """The names a certificate is for: its DNS subjectAltNames, else its CommonName."""
    cert = x509.load_der_x509_certificate(der)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        names = [str(n) for n in san.value.get_values_for_type(x509.DNSName)]
    except x509.ExtensionNotFound:
        names = []
    if names:
        return names
    return [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)][:1]


def _name_matches(certid: str, pattern: str, hostname: str, nexthop: str) -> bool:
    """Postfix's match_servername(): one certificate name against one match= pattern."""
    special = pattern.lower()
    subdomain = special == "dot-nexthop"
    if special in ("nexthop", "dot-nexthop"):
        domain = nexthop
    elif special == "hostname":
        domain = hostname
    elif pattern.startswith(".") and len(pattern) > 1:
        domain, subdomain = pattern[1:], True
    else:
        domain = pattern
    certid, domain = certid.lower(), domain.lower()
    if subdomain:
        return len(certid) > len(domain) + 1 and certid.endswith("." + domain)
    if certid == domain:
        return True
    # "*.example.com" matches one or more labels (tls_wildcard_matches_multiple_labels)
    parent = domain[domain.find(".") :] if "." in domain else ""
    return certid.startswith("*.") and len(certid) > 2 and parent.endswith(certid[1:])


def _digests(der: bytes, digest: str) -> set[str]:
    """Hex digests of a certificate and of its public key (fingerprint matching)."""
    cert = x509.load_der_x509_certificate(der)
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return {hashlib.new(digest, der).hexdigest(), hashlib.new(digest, spki).hexdigest()}


def lookup_keys(destination: str) -> list[str]:
    """The keys Postfix tries for a next-hop destination, in order."""
    if not valid_hostname(destination):
        return [destination]
    keys = [destination]
    rest = destination
    while (dot := rest.find(".", 1)) > 0:
        rest = rest[dot:]
        keys.append(rest)
    return keys


@dataclass
class _Entry:
    """A parsed table value (``None``: not given, use the main.cf setting)."""

    level: str
    ciphers: str | None = None
    protocols: str | None = None
    exclude: str | None = None
    servername: str | None = None
    match: list[str] = field(default_factory=list)
    tafiles: list[str] = field(default_factory=list)
    reuse: bool | None = None


def parse_entry(value: str, where: str) -> _Entry:
    """Parse a table value; ``where`` (table, key) prefixes the warnings.

    Raises :class:`TlsPolicyError` after logging Postfix's warning for a bad value.
    """

    def invalid(warning: str) -> TlsPolicyError:
        log.warning("%s: %s", where, warning)
        return TlsPolicyError()

    tokens = [t for t in _SEPARATORS.split(value) if t]
    if not tokens:
        raise invalid("invalid empty policy")
    level = tokens[0].lower()
    if level not in LEVELS:
        raise invalid(f'invalid security level "{tokens[0]}"')
    entry = _Entry(level)
    if level == "none":
        for token in tokens[1:]:
            log.warning('%s: ignoring attribute "%s" with TLS disabled', where, token)
        return entry
    for token in tokens[1:]:
        name, equals, val = token.partition("=")
        name, val = name.strip(), val.strip()
        if not equals:
            raise invalid(
                f"malformed attribute/value pair \"{token}\": missing '=' after attribute name"
            )
        key = name.lower()
        if key in ("ciphers", "match", "tafile") and not val:
            raise invalid(f'attribute "{name}" has empty value')
        once = {"ciphers": entry.ciphers, "protocols": entry.protocols}
        once |= {"exclude": entry.exclude, "servername": entry.servername}
        if once.get(key) is not None:
            raise invalid(f'attribute "{name}" is specified multiple times')
        if key == "ciphers":
            entry.ciphers = val
        elif key == "protocols":
            entry.protocols = val
        elif key == "exclude":
            entry.exclude = val
        elif key == "servername":
            if not valid_hostname(val):
                raise invalid(f'"{name}={val}" specifies an invalid hostname')
            entry.servername = val
        elif key == "match":
            if level not in ("fingerprint", "verify", "secure"):
                raise invalid(f'attribute "{name}" invalid at security level "{level}"')
            entry.match += val.split("|" if level == "fingerprint" else ":")
        elif key == "tafile":
            if level not in ("verify", "secure"):
                raise invalid(f'attribute "{name}" invalid at security level "{level}"')
            entry.tafiles.append(val)
        elif key == "connection_reuse":
            if val.lower() not in ("yes", "no"):
                raise invalid(f'attribute "{name}" has bad value: "{val}"')
            entry.reuse = val.lower() == "yes"
        else:
            raise invalid(f'invalid attribute name: "{name}"')
    return entry


def protocol_range(spec: str) -> tuple[ssl.TLSVersion, ssl.TLSVersion] | None:
    """Postfix's protocol list (``!SSLv3, !TLSv1`` or ``>=TLSv1.2``) as (min, max).

    Raises ValueError for an unknown protocol; None when nothing is left.
    """
    include: set[str] = set()
    exclude: set[str] = set()
    floor, ceiling = 0, len(_PROTOCOLS) - 1
    names = {p.lower(): p for p in _PROTOCOLS}  # Postfix compares them ignoring case
    for token in re.split(r"[\t\n\r ,:]+", spec.strip()):
        if not token:
            continue
        if token[:2] in (">=", "<="):
            bound_name = names.get(token[2:].lower(), "")
            if bound_name not in _VERSIONS:
                raise ValueError(token)
            bound = _PROTOCOLS.index(bound_name)
            floor, ceiling = (bound, ceiling) if token[0] == ">" else (floor, bound)
            continue
        name = names.get(token.removeprefix("!").lower())
        if name is None:
            raise ValueError(token)
        (exclude if token.startswith("!") else include).add(name)
    allowed = [
        p
        for i, p in enumerate(_PROTOCOLS)
        if floor <= i <= ceiling and p not in exclude and (not include or p in include)
    ]
    usable = [_VERSIONS[p] for p in allowed if p in _VERSIONS]
    return (min(usable), max(usable)) if usable else None


@dataclass(frozen=True)
class ClientSettings:
    """The main.cf side of TLS for one client (``smtp_tls_*`` or ``lmtp_tls_*``)."""

    level: str  # smtp_tls_security_level, after smtp_use_tls/smtp_enforce_tls
    parameter: str  # smtp_tls_policy_maps
    ciphers: str = "medium"
    mandatory_ciphers: str = "medium"
    exclude_ciphers: str = ""
    mandatory_exclude_ciphers: str = ""
    protocols: str = ">=TLSv1"
    mandatory_protocols: str = ">=TLSv1"
    verify_match: str = "hostname"
    secure_match: str = "nexthop, dot-nexthop"
    fingerprint_match: str = ""
    fingerprint_digest: str = "sha256"
    servername: str = ""
    servername_parameter: str = "smtp_tls_servername"
    connection_reuse: bool = False
    trust_anchor_files: str = ""
    cafile: str = ""
    capath: str = ""
    cert_file: str = ""
    key_file: str = ""
    dnssec: bool = False  # smtp_dns_support_level = dnssec (and DNS host lookups)


class TlsPolicies:
    """Finds the policy for a destination; builds (and keeps) the SSL contexts."""

    def __init__(self, settings: ClientSettings, maps: Callable[[], Maps] | None) -> None:
        self.settings = settings
        self._maps = maps  # None: no smtp_tls_policy_maps
        self._contexts: dict[tuple[object, ...], tuple[ssl.SSLContext, str]] = {}

    def check_client_certificate(self) -> None:
        """Load the client certificate once; raises OSError/ssl.SSLError when broken."""
        self._new_context(False, ())

    def lookup(self, destination: str, nexthop: str, *, unix: bool = False) -> TlsPolicy:
        """The policy for a next-hop ``destination`` (``nexthop``: its domain).

        Raises :class:`TlsPolicyError` (its warnings logged) when there is none to use.
        """
        entry = self._find(destination) or _Entry(self.settings.level)
        level = entry.level
        if level in ("dane", "dane-only"):
            level = self._dane(destination, level, unix)
        if unix and level == "may":
            log.warning(
                "smtp_connect_local: opportunistic TLS encryption is not appropriate"
                " for unix-domain destinations."
            )
            level = "none"
        if level == "none":
            return TlsPolicy(nexthop=nexthop)
        servername = entry.servername
        if servername is None:
            servername = self.settings.servername
            if servername and not valid_hostname(servername):
                name = self.settings.servername_parameter
                log.warning('"%s = %s" specifies an invalid hostname', name, servername)
                raise TlsPolicyError()
        match = self._match(level, entry, destination)
        tafiles = self._tafiles(level, entry)
        context, problem = self._context(level, entry, tafiles)
        reuse = self.settings.connection_reuse if entry.reuse is None else entry.reuse
        return TlsPolicy(
            level,
            context,
            servername,
            match,
            nexthop,
            self.settings.fingerprint_digest,
            reuse,
            problem,
        )

    # -- the table ----------------------------------------------------------------------

    def _find(self, destination: str) -> _Entry | None:
        if self._maps is None:
            return None
        parameter = self.settings.parameter
        for key in lookup_keys(destination):
            where = f'{parameter}, next-hop destination "{key}"'
            try:
                value = self._maps().find(key)
            except TableError as e:
                log.warning('%s lookup error for "%s"', e.table, key)
                log.warning("%s: policy table lookup error", where)
                raise TlsPolicyError() from None
            except ConfigError as e:  # a table that cannot be opened fails every lookup
                log.warning("%s", e)
                log.warning("%s: policy table lookup error", where)
                raise TlsPolicyError() from None
            if value is not None:
                return parse_entry(value, where)
        return None

    def _dane(self, destination: str, level: str, unix: bool) -> str:
        """``dane``/``dane-only`` without DNSSEC: ``may``, or no policy at all."""
        if unix:
            log.warning(
                '%s: the "dane" security level is invalid for delivery via unix-domain sockets',
                destination,
            )
            raise TlsPolicyError()
        if self.settings.dnssec:
            log.warning("%s: %s configured, but no requisite library support", destination, level)
        else:
            log.warning("%s: %s configured with dnssec lookups disabled", destination, level)
        if level == "dane-only":
            raise TlsPolicyError()
        return "may"

    def _match(self, level: str, entry: _Entry, destination: str) -> tuple[str, ...]:
        settings = self.settings
        if level in ("verify", "secure"):
            if entry.match:
                return tuple(entry.match)
            default = settings.verify_match if level == "verify" else settings.secure_match
            return tuple(t for t in re.split(r"[\t\n\r ,:]+", default) if t)
        if level != "fingerprint":
            return ()
        values = entry.match or [t for t in _SEPARATORS.split(settings.fingerprint_match) if t]
        try:
            hashlib.new(settings.fingerprint_digest)
        except ValueError:
            log.warning("unsupported fingerprint digest: %s", settings.fingerprint_digest)
            raise TlsPolicyError() from None
        digests: list[str] = []
        for value in values:
            hexits = value.replace(":", "").lower()
            if not hexits or len(hexits) % 2 or not re.fullmatch(r"[0-9a-f]+", hexits):
                log.warning("malformed fingerprint value: %.100s", value)
                continue
            digests.append(hexits)
        if not digests:
            log.warning(
                "nexthop domain %s: configured at fingerprint security level,"
                " but with no fingerprints to match.",
                destination,
            )
            raise TlsPolicyError()
        return tuple(digests)

    # -- SSL contexts -------------------------------------------------------------------

    def _tafiles(self, level: str, entry: _Entry) -> tuple[str, ...]:
        if level not in ("verify", "secure"):
            return ()
        if entry.tafiles:
            return tuple(entry.tafiles)
        return tuple(t for t in _SEPARATORS.split(self.settings.trust_anchor_files) if t)

    def _context(
        self, level: str, entry: _Entry, tafiles: tuple[str, ...]
    ) -> tuple[ssl.SSLContext, str]:
        """The SSL context for the level and attributes, and what is wrong with them."""
        settings = self.settings
        mandatory = level != "may"
        grade = entry.ciphers or (settings.mandatory_ciphers if mandatory else settings.ciphers)
        if entry.exclude is not None:
            exclude = entry.exclude
        else:
            exclude = settings.exclude_ciphers
            if mandatory:
                exclude += " " + settings.mandatory_exclude_ciphers
        exclude += {"may": "", "encrypt": " eNULL"}.get(level, " aNULL")
        protocols = entry.protocols
        if protocols is None:
            protocols = settings.mandatory_protocols if mandatory else settings.protocols
        key = (level in ("verify", "secure"), grade.lower(), exclude, protocols, tafiles)
        found = self._contexts.get(key)
        if found is None:
            if len(self._contexts) >= 64:
                self._contexts.clear()
            try:
                context = self._new_context(key[0], tafiles)
            except (OSError, ssl.SSLError) as e:
                log.warning("cannot set up TLS: %s", e)
                raise TlsPolicyError() from None
            found = self._contexts[key] = (context, _restrict(context, grade, exclude, protocols))
        return found

    def _new_context(self, verify: bool, tafiles: Sequence[str]) -> ssl.SSLContext:
        settings = self.settings
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False  # names are matched as Postfix does: check_peer()
        if not verify:
            context.verify_mode = ssl.CERT_NONE
        elif tafiles:  # trust anchors replace the CA certificates
            for tafile in tafiles:
                context.load_verify_locations(cafile=tafile)
            context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
        elif settings.cafile or settings.capath:
            context.load_verify_locations(settings.cafile or None, settings.capath or None)
        else:
            context.load_default_certs()
        if settings.cert_file:
            context.load_cert_chain(settings.cert_file, settings.key_file or settings.cert_file)
        return context


def _restrict(context: ssl.SSLContext, grade: str, exclude: str, protocols: str) -> str:
    """Apply ciphers and protocols; returns Postfix's complaint about bad ones, if any.

    As in Postfix, a bad cipher grade or protocol list aborts each TLS session after
    STARTTLS (``Cannot start TLS: handshake failure``, even at level ``may``), while a
    list that leaves nothing usable makes the handshake itself fail.
    """
    ciphers = _GRADES.get(grade.lower())
    if ciphers is None:
        return f'invalid cipher grade: "{grade}"'
    for name in re.split(r"[\t\n\r ,:]+", exclude.strip()):
        ciphers += f":!{name}" if name else ""
    try:
        versions = protocol_range(protocols)
    except ValueError:
        return f'Invalid TLS protocol list "{protocols}": aborting TLS session'
    try:
        context.set_ciphers(ciphers)
    except ssl.SSLError:
        versions = None  # no cipher left: every handshake fails
    with warnings.catch_warnings():  # TLSv1 and TLSv1.1 are deprecated in Python
        warnings.simplefilter("ignore", DeprecationWarning)
        # (TLSv1.3, TLSv1.2): no protocol left, every handshake fails
        low, high = versions or (ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2)
        context.minimum_version, context.maximum_version = low, high
    return ""
