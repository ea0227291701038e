"""Image model adapters: local Pillow, Replicate, OpenAI images, Stability AI, Cog-compatible HTTP."""
