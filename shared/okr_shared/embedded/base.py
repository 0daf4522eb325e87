"""What both embedded servers need: ports, a child process, and a readable failure."""

from __future__ import annotations

import contextlib
import socket
import subprocess
from pathlib import Path


class EmbeddedServerError(RuntimeError):
    """A server did not start; the message says why, with the end of its log."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As the servers themselves do: a port in TIME_WAIT after a restart is free to use.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def log_tail(path: Path, lines: int = 15) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""


def stop_process(process: subprocess.Popen[bytes] | None, sig: int, timeout_s: float) -> None:
    """Ask politely with `sig`, then kill if it does not exit within `timeout_s`."""
    if process is None or process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(sig)
    try:
        process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


__all__ = ["EmbeddedServerError", "free_port", "log_tail", "port_is_free", "stop_process"]
