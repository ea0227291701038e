"""The image pipeline: templates, model and store ports with their adapters, the worker and in-process dispatch."""
