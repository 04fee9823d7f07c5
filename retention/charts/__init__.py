"""Plotly figure builders: data in, ``go.Figure`` out. No Streamlit, no store.

One module per page family; import from the module (``retention.charts.cohorts``).
"""
