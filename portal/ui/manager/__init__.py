"""The security manager's page: accounts, actions, audit trail, Explore."""
