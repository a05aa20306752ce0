"""The admin service: the only writer of directory data, enforcing PostfixAdmin's rules."""
