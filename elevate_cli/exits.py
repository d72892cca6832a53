"""Exit codes, so scripts can tell what happened without parsing text."""

OK = 0
ERROR = 1  # anything else
USAGE = 2  # bad arguments (click's own)
NOT_SIGNED_IN = 3  # no token, or it is unknown, expired or revoked (401): run `elevate login`
FORBIDDEN = 4  # the token's scopes or the user's roles do not allow it (403)
NOT_FOUND = 5  # no such device or elevation, or not yours (404)
REFUSED = 6  # refused by policy or state (409, 422), e.g. a duration the policy does not offer
UNAVAILABLE = 7  # the portal cannot be reached, is overloaded (429) or failed (5xx)
NOT_GRANTED = 8  # --wait: the request ended without admin rights (denied, failed, cancelled)
TIMED_OUT = 9  # --wait: still not active when --timeout ran out

BY_STATUS = {401: NOT_SIGNED_IN, 403: FORBIDDEN, 404: NOT_FOUND, 409: REFUSED, 422: REFUSED, 429: UNAVAILABLE}


def for_status(status: int) -> int:
    if status >= 500:
        return UNAVAILABLE
    return BY_STATUS.get(status, ERROR)
