"""One module per ``hrvpace`` subcommand; :mod:`api.cli` registers them."""
