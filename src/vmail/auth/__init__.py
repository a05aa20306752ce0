"""Authentication: password schemes (Dovecot ``{SCHEME}`` format), SASL, throttling.

``passwords`` (public hashing API) → ``schemes`` (dispatcher) → ``cryptformats``/``argon``/
``digests``/``md5state``; ``sasl`` (sans-IO PLAIN and LOGIN); ``service`` (the
``Authenticator``) with ``accounts``/``sqlsource``, ``throttle`` and ``cache``.
"""
