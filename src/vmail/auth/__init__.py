"""Authentication: password schemes (Dovecot ``{SCHEME}`` format), SASL, throttling."""
