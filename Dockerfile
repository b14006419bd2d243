# pmp-bot's container image: `pmp-bot serve` on port 3000 as an unprivileged user, its data
# (the default SQLite database and a generated secret.key) in the volume /data.
#   docker build -t pmp-bot .
#   docker run -d --env-file .env -p 127.0.0.1:3000:3000 -v pmp-bot-data:/data pmp-bot
# compose.yaml runs it with PostgreSQL. BASE_IMAGE may name another Python 3.11+ image with
# the venv module (CI builds on a Debian one of its own: it can't pull from Docker Hub).
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Only what the package is built from: .dockerignore keeps .env, data and the venv out.
COPY pyproject.toml README.md LICENSE manifest.yml manifest.socket.yml /src/
COPY bot /src/bot
COPY handlers /src/handlers
RUN python3 -m venv /opt/pmp-bot \
    && /opt/pmp-bot/bin/pip install /src \
    && rm -rf /src \
    && useradd --uid 10001 --user-group --home-dir /data --no-create-home \
        --shell /usr/sbin/nologin pmp-bot \
    && install -d -m 0700 -o pmp-bot -g pmp-bot /data

# A container must listen on every interface to be reachable through its published port.
ENV PATH=/opt/pmp-bot/bin:$PATH \
    HOST=0.0.0.0 \
    PORT=3000 \
    PMP_BOT_DATA_DIR=/data
VOLUME ["/data"]
# No .env here: settings come from the container's environment (--env-file, compose).
WORKDIR /opt/pmp-bot
USER pmp-bot
EXPOSE 3000

# 200 while the database answers; urlopen raises (exit 1) on a 503 or no answer.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python3", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '3000'), timeout=4)"]

# uvicorn stops on SIGTERM (docker stop) after finishing the requests in flight.
STOPSIGNAL SIGTERM
ENTRYPOINT ["pmp-bot"]
CMD ["serve"]
