"""Segments: customer attributes, rules, saved segments and RFM."""
