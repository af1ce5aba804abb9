# One image for every mesh component; compose.yaml picks the command per service.
FROM python:3.11-slim
RUN python -m pip install --no-cache-dir "uv==0.13.8"
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --locked --no-dev --no-install-project
COPY mesh ./mesh
COPY mcp_servers ./mcp_servers
COPY agents ./agents
RUN uv sync --locked --no-dev
ENV PATH="/app/.venv/bin:$PATH"
USER nobody
