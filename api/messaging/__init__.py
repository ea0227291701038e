"""Events on Kafka: the tracked relay out of the ledger, and the inbound referral and payment consumers."""
