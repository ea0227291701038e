"""The image pipeline's worker side, without Kafka: templates, model and store ports with their adapters, the
compositor, the handler and the message schemas."""
