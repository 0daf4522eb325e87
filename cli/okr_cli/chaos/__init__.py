"""`okr chaos`: fault-injection scenarios against a system of their own, and their verdicts."""
