"""Running the portal for an organisation: backups, restore, audit retention, the scheduler."""
