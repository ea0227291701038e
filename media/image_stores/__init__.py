"""Image store adapters: local files, S3-compatible object storage, Cloudinary."""
