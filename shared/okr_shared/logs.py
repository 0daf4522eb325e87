"""One log format for every process: time, level, service, logger, message."""

from __future__ import annotations

import logging
import sys


def configure_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter(f"%(asctime)s %(levelname)-7s {service} %(name)s: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # FastStream logs every message at INFO: far too much for a hot path.
    logging.getLogger("faststream").setLevel(max(logging.WARNING, root.level))
    logging.getLogger("faststream.access.nats").setLevel(logging.WARNING)
