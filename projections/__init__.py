"""Studio Ledger: projections."""
