"""SMTP access policy: smtpd restriction lists evaluated against a client and an address."""
