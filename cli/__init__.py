"""The click front end of mcqueue (the `mcqueue` console script)."""
