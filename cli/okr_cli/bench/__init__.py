"""`okr bench`: start a system of its own, load it, measure it, stop it."""
