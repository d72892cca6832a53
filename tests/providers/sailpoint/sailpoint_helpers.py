"""Constants shared by the SailPoint tests (imported by name: no conftest magic)."""

CLIENT_ID = "portal"
CLIENT_SECRET = "s3cret"
