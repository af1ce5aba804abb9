# One image for every mesh component; compose.yaml picks the command per service.
FROM python:3.11-slim
RUN python -m pip install --no-cache-dir "uv==0.13.8"
WORKDIR /app
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --locked --no-dev --extra postgres --no-install-project
COPY mesh ./mesh
COPY mcp_servers ./mcp_servers
COPY agents ./agents
COPY policies ./policies
COPY capability_cards ./capability_cards
RUN uv sync --locked --no-dev --extra postgres
ENV PATH="/app/.venv/bin:$PATH"
# An unprivileged user owning the mount points, so named volumes start out writable by it.
RUN useradd --system --uid 10001 --home-dir /data mesh \
    && mkdir -p /data/keys /data/gateway /data/domains/demand /data/domains/inventory \
       /data/domains/logistics /data/domains/sustainability /data/domains/procurement \
    && chown -R mesh /data && chmod 700 /data/keys
USER mesh
