"""`python -m mcqueue` runs the command line."""

from cli.main import main

main()
