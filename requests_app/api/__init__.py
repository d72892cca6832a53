"""The REST API at /api/v1/: personal access tokens, the same services and selectors as the pages."""
