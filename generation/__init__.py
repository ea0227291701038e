"""Studio Ledger: generation."""
