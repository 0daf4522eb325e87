"""HTTP routes, one module per resource. Each route: check, call, shape the answer."""
