"""`python -m mcqueue` runs the command line."""

from mcqueue.cli.main import main

main()
