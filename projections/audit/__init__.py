"""The finance audit: replay the raw event store, prove its invariants, balances, journal, summary."""
