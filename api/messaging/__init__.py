"""The Kafka entrypoints: the tracked relay, the inbound consumers, the result consumer and the generation worker.

They share one kit: the broker factory (broker.py), the envelope (envelope.py), topic names (topics.py)
and one dead-letter policy (dead_letters.py).
"""
