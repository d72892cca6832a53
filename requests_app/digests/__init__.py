"""The managers' weekly digest: each manager's team's elevations of the past week, by e-mail and
on their own Slack webhook where they set one up, each with a one-click "this looks wrong" that
opens a review item (requests_app/reviews). Managers come from the identity provider's claims on
sign-in (ELEVATE_SSO_MANAGER_CLAIM, requests_app/auth/sso.py) or the admin."""
