"""The security manager: actions on people, reports, and the Explore notebook."""
