"""The `okr` command line: run, test and operate the system."""
