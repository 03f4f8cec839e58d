"""NLU helpers: held-out evaluation (and any custom components registered in config.yml)."""
