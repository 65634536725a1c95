"""``python -m api`` runs the hrvpace command line."""

from api.cli import main

main()
