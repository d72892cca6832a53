"""The interactive Slack app: approvals with buttons, the requester's Extend/Revoke message, and
the `/elevate` slash command. Contract notes: shared/provider-apis/slack-app.md."""
