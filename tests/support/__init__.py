"""Helpers the test modules share: a service over HTTP (``http``), Kafka-protocol brokers
(``kafka_broker``), hostile inputs (``hostile``), the deploy manifests as kubectl builds them
(``deploy``). A test module imports from here or from a conftest, never from another test module."""
