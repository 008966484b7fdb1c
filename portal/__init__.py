"""Two-factor authentication portal: domain services (no Streamlit outside portal.ui/app/asgi)."""

__version__ = "0.1.0"
