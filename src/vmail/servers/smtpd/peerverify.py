"""Ask a TLS client for its certificate without ending the handshake when it is untrusted.

Postfix's smtpd asks for a client certificate (``smtpd_tls_ask_ccert``) with an OpenSSL
verify callback that lets every handshake go on and only records whether the chain could
be verified ("Trusted" or "Untrusted TLS connection"). Python's :mod:`ssl` has no verify
callback: with ``CERT_OPTIONAL`` a certificate that does not verify aborts the handshake.
This module installs such a callback on an :class:`ssl.SSLContext` through :mod:`ctypes`,
with the OpenSSL library that Python's ``_ssl`` module itself is linked with, so OpenSSL
still builds and checks the chain (with the client's intermediates, the CA file and
directory, the depth limit) exactly as it does for Postfix.

The first verification error of a handshake is kept on the connection's
:class:`ssl.SSLObject` (CPython makes its ``_ssl`` socket the ``SSL``'s application data,
and that socket's ``owner`` is the SSLObject); :func:`verify_error` reads it.
:func:`accept_any_certificate` checks that the context it patches is the one Python
reports (its options must read back the same) and raises :class:`PeerVerifyError`
otherwise, so an unexpected Python build fails at start-up, not during a handshake.
"""

from __future__ import annotations

import _ssl
import ctypes
import ssl
from pathlib import Path

_ERROR_ATTRIBUTE = "_vmail_verify_error"
_SSL_VERIFY_PEER = 1
_SSL_CTRL_SET_SESS_CACHE_MODE = 44
_SSL_SESS_CACHE_OFF = 0

_VerifyCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.c_void_p)


class PeerVerifyError(Exception):
    """The context cannot be given a verify callback (an unexpected Python build)."""


def _library() -> ctypes.CDLL:
    lib = ctypes.CDLL(_ssl.__file__)  # its libssl/libcrypto symbols, not another copy's
    p, i, s = ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p
    signatures: dict[str, tuple[list[type], type | None]] = {
        "SSL_CTX_set_verify": ([p, i, _VerifyCallback], None),
        "SSL_CTX_get_verify_mode": ([p], i),
        "SSL_CTX_set_verify_depth": ([p, i], None),
        "SSL_CTX_get_options": ([p], ctypes.c_uint64),
        "SSL_CTX_ctrl": ([p, i, ctypes.c_long, p], ctypes.c_long),
        "SSL_CTX_set_client_CA_list": ([p, p], None),
        "SSL_load_client_CA_file": ([s], p),
        "SSL_get_ex_data_X509_STORE_CTX_idx": ([], i),
        "X509_STORE_CTX_get_ex_data": ([p, i], p),
        "X509_STORE_CTX_get_error": ([p], i),
        "X509_verify_cert_error_string": ([ctypes.c_long], s),
        "SSL_get_ex_data": ([p, i], p),
    }
    for name, (argtypes, restype) in signatures.items():
        function = getattr(lib, name)
        function.argtypes = argtypes
        function.restype = restype
    return lib


_lib: ctypes.CDLL | None = None


def _openssl() -> ctypes.CDLL:
    global _lib
    if _lib is None:
        try:
            _lib = _library()
        except (OSError, AttributeError) as e:
            raise PeerVerifyError(f"cannot reach OpenSSL from Python's ssl module: {e}") from e
    return _lib


def _record_and_continue(preverify_ok: int, store: int | None) -> int:
    """OpenSSL's verify callback: remember the first error, never stop the handshake."""
    if preverify_ok or not store:
        return 1
    try:
        lib = _openssl()
        connection = lib.X509_STORE_CTX_get_ex_data(store, lib.SSL_get_ex_data_X509_STORE_CTX_idx())
        owner = lib.SSL_get_ex_data(connection, 0) if connection else None
        if owner:
            sslobject = ctypes.cast(owner, ctypes.py_object).value.owner
            if sslobject is not None and not hasattr(sslobject, _ERROR_ATTRIBUTE):
                text = lib.X509_verify_cert_error_string(lib.X509_STORE_CTX_get_error(store))
                setattr(sslobject, _ERROR_ATTRIBUTE, text.decode("ascii", "replace"))
    except Exception:  # an exception must not cross into OpenSSL: the handshake goes on
        pass
    return 1


_CALLBACK = _VerifyCallback(_record_and_continue)  # kept alive: OpenSSL holds its address


def _context_pointer(context: ssl.SSLContext) -> int:
    # CPython's PySSLContext starts with PyObject_HEAD, then the SSL_CTX pointer
    pointer = ctypes.c_void_p.from_address(id(context) + object.__basicsize__).value
    if not pointer or _openssl().SSL_CTX_get_options(pointer) != int(context.options):
        raise PeerVerifyError("cannot find the OpenSSL context of an ssl.SSLContext")
    return pointer


def accept_any_certificate(context: ssl.SSLContext, depth: int, ca_file: str | None) -> None:
    """Ask for a client certificate (``CERT_OPTIONAL``) and let the handshake go on
    whatever its verification says; chains longer than ``depth`` CAs do not verify. The
    subjects of ``ca_file``'s certificates are named in the certificate request, as
    Postfix does. TLS session resumption is turned off: a resumed session would carry no
    verification result.
    """
    context.verify_mode = ssl.CERT_OPTIONAL
    context.options |= ssl.OP_NO_TICKET
    context.num_tickets = 0
    lib = _openssl()
    pointer = _context_pointer(context)
    lib.SSL_CTX_set_verify(pointer, _SSL_VERIFY_PEER, _CALLBACK)
    lib.SSL_CTX_set_verify_depth(pointer, depth)
    lib.SSL_CTX_ctrl(pointer, _SSL_CTRL_SET_SESS_CACHE_MODE, _SSL_SESS_CACHE_OFF, None)
    if lib.SSL_CTX_get_verify_mode(pointer) != _SSL_VERIFY_PEER:
        raise PeerVerifyError("cannot set the verify callback of an ssl.SSLContext")
    if ca_file:
        names = lib.SSL_load_client_CA_file(str(Path(ca_file)).encode())
        if names:  # takes ownership of the list
            lib.SSL_CTX_set_client_CA_list(pointer, names)


def verify_error(ssl_object: ssl.SSLObject | ssl.SSLSocket) -> str | None:
    """The first verification error of the handshake (OpenSSL's text, as Postfix logs
    it: ``self-signed certificate``), None when the peer's certificate verified."""
    value = getattr(ssl_object, _ERROR_ATTRIBUTE, None)
    return value if isinstance(value, str) else None


__all__ = ["PeerVerifyError", "accept_any_certificate", "verify_error"]
