"""Statistical models: survival curves (more to come: BG/NBD, Gamma-Gamma, CLTV)."""
