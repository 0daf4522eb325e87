# One image for every okr service; compose.yaml picks the command per service.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    PATH=/app/.venv/bin:$PATH

# The runtime user owns nothing but /data (the gateway's data dir): the code and the
# environment belong to root, so a compromised service cannot change what runs.
RUN pip install --no-cache-dir uv==0.13.9 \
    && useradd --system --no-create-home --home-dir /nonexistent okr \
    && install -d -o okr -g okr -m 0700 /data
WORKDIR /app

# Dependencies first, in a layer of their own: only a change of the lock or a pyproject.toml
# installs them again, not a change of the code. No dev dependencies, no tests, and not the
# embedded servers of `./okr up` (compose runs real ones).
COPY uv.lock pyproject.toml README.md ./
COPY shared/pyproject.toml shared/
COPY services/objectives/pyproject.toml services/objectives/
COPY services/kpis/pyproject.toml services/kpis/
COPY services/progress/pyproject.toml services/progress/
COPY services/webhooks/pyproject.toml services/webhooks/
COPY services/gateway/pyproject.toml services/gateway/
RUN uv sync --frozen --no-default-groups --no-install-workspace

# Then the code, and the workspace's own packages; bytecode compiled now, since the runtime
# user may not write __pycache__ next to the code.
COPY shared shared
COPY services services
COPY cli cli
RUN uv sync --frozen --no-default-groups && python -m compileall -q shared services cli

USER okr
EXPOSE 8000
CMD ["okr", "--help"]
