"""Email delivery of exports: messages, SMTP with retries, and the exactly-once ledger."""
