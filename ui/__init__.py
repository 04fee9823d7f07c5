"""Streamlit glue: cached store, session-state keys, sidebar filters, components, formatting."""
