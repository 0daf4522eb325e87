"""Three NATS servers on loopback joined by cluster routes: JetStream streams with 3 replicas
survive the loss of any one of them."""

from __future__ import annotations

from pathlib import Path

from okr_shared.embedded import EmbeddedNats, free_port


class NatsCluster:
    def __init__(self, root: Path, size: int = 3) -> None:
        ports = [(free_port(), free_port()) for _ in range(size)]
        routes = ",".join(f"nats://127.0.0.1:{route}" for _, route in ports)
        self.nodes = [
            EmbeddedNats(
                root / f"nats-{n}",
                port=client,
                log_file=root / "logs" / f"nats-{n}.log",
                server_name=f"okr-{n}",
                extra_args=[
                    "--cluster_name",
                    "okr",
                    "--cluster",
                    f"nats://127.0.0.1:{route}",
                    "--routes",
                    routes,
                ],
            )
            for n, (client, route) in enumerate(ports, start=1)
        ]

    @property
    def url(self) -> str:
        """Every node: clients move to another when theirs goes away."""
        return ",".join(node.url for node in self.nodes)

    def node(self, server_name: str | None) -> EmbeddedNats | None:
        """The node of that server name, if it is one of these."""
        return next((n for n in self.nodes if n.server_name == server_name), None)

    def start(self) -> None:
        for node in self.nodes:
            node.start()

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
