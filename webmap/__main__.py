"""``python -m webmap``: the command line."""

from .cli import main

main()
