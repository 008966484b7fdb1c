"""The portal in front of other apps: forward-auth decisions, their rules, code-check API keys."""
