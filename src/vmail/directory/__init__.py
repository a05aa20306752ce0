"""The directory: domains, mailboxes, aliases and admins in PostfixAdmin's SQL schema."""
