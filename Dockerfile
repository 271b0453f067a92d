# quickscan-bot as a container: `quickscan serve` (Slack's request URL, Telegram's
# webhook, /healthz, /readyz and /metrics on one port), for PostgreSQL.
#
#   docker build -t quickscan-bot .        # compose.yaml builds it too
#
# Everything a deployment needs is in docs/deploy.md. tests/test_container_entry.py
# reads ENV, HEALTHCHECK, ENTRYPOINT and CMD from this file and runs exactly that
# command, twice, against PostgreSQL: keep them in the JSON (exec) form.

# ---- build: the virtualenv, with the versions of requirements.lock only
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/quickscan
WORKDIR /src
COPY pyproject.toml requirements.lock README.md ./
COPY adapters ./adapters
COPY bot ./bot
COPY conversations ./conversations
COPY storage ./storage
RUN /opt/quickscan/bin/pip install -c requirements.lock '.[postgres]'

# ---- run: the virtualenv alone (no sources, no build tools, no pip cache), not root
FROM python:3.11-slim
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /home/quickscan \
        --shell /usr/sbin/nologin quickscan
COPY --from=build /opt/quickscan /opt/quickscan
ENV PATH=/opt/quickscan/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    QUICKSCAN_HTTP_HOST=0.0.0.0 \
    QUICKSCAN_HTTP_PORT=8080 \
    QUICKSCAN_LOG_FORMAT=json
USER 10001:10001
WORKDIR /home/quickscan
EXPOSE 8080
# No curl in the slim image: Python asks /healthz (urlopen fails on anything but 2xx).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('QUICKSCAN_HTTP_PORT', '8080') + '/healthz', timeout=4)"]
ENTRYPOINT ["quickscan"]
CMD ["serve"]
