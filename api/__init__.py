"""Studio Ledger: api."""
