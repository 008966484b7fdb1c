"""Streamlit-facing helpers: the only part of portal/ besides app.py and asgi.py that imports it."""
