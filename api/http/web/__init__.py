"""The Creative Studio page at ``/``: server-rendered templates, hashed static assets, strict headers."""
