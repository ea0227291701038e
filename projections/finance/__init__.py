"""Finance read from the ledger alone: revenue recognised, deferred revenue (liability) and breakage."""
