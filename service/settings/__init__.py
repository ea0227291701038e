"""Settings of every process, from STUDIO_* environment variables."""
