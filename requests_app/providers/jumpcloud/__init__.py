"""JumpCloud: time-based device admin (access requests) and user-group sudo.

Contract notes with sources: ../shared/provider-apis/jumpcloud.md (kept outside the repo).
"""
