"""The application layer: one function or small class per use case, the one bootstrap, the settings.

Use cases take the ledger, the catalog, the policy and the clock as arguments and raise domain
errors; the entrypoints in ``api`` parse input, call them and shape the answer.
"""
