# One image for every okr service; compose.yaml picks the command per service.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    PATH=/app/.venv/bin:$PATH

RUN pip install --no-cache-dir uv==0.13.9 && useradd --system --home /app okr
WORKDIR /app
COPY . .
RUN uv sync --frozen --no-dev && chown -R okr /app
USER okr

EXPOSE 8000
CMD ["okr", "--help"]
