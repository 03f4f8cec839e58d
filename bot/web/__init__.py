"""Staff dashboard and open data (Starlette)."""
