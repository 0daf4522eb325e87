"""What the okr services truly share.

- `contracts`: the message models (one definition each) that cross a process boundary.
- `subjects`: NATS subject and JetStream stream names.
- `settings`: the settings base every service extends.
- `db`, `migrations`, `outbox`: PostgreSQL plumbing.
- `rpc`, `consumer`, `streams`: NATS plumbing (request/reply, batch pull consumers, streams).
- `embedded`: launchers for the embedded NATS and PostgreSQL servers.
"""

__version__ = "0.1.0"
