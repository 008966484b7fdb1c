"""The second factor: TOTP, backup codes, the set-up wizard, self-service, policy."""
