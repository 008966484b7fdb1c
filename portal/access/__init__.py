"""Getting in: accounts, passwords, sessions, the failed-attempt throttle, notices."""
