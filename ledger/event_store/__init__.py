"""Store adapters of the ledger: the PostgreSQL recorder, positions, the LISTEN follower, transcodings."""
