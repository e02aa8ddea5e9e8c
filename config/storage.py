from whitenoise.storage import CompressedManifestStaticFilesStorage


class GzipManifestStaticFilesStorage(CompressedManifestStaticFilesStorage):
    """whitenoise's hashed, compressed static files, gzip only: brotli at its best quality
    takes over a minute of `collectstatic` for the admin's and the API docs' 20 MB, for a
    few percent less to send."""

    def create_compressor(self, **kwargs):
        return super().create_compressor(use_brotli=False, **kwargs)
