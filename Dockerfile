# Reelsmith studio on python:3.11-slim. Build:  docker build -t reelsmith .
# Run:  docker run -p 7860:7860 -v reelsmith-data:/data reelsmith
# For a smaller image (CPU-only torch), pass PyTorch's CPU wheel index: --build-arg PIP_EXTRA_INDEX_URL=<index URL>
FROM python:3.11-slim

ARG PIP_EXTRA_INDEX_URL=""
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_EXTRA_INDEX_URL=${PIP_EXTRA_INDEX_URL} \
    REELSMITH_DATA=/data \
    GRADIO_SERVER_NAME=0.0.0.0 \
    GRADIO_SERVER_PORT=7860 \
    GRADIO_ANALYTICS_ENABLED=False

# pg_dump/pg_restore for backups of a PostgreSQL store (team instances, docker-compose.yml)
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 1000 reelsmith \
    && mkdir -p /data && chown reelsmith:reelsmith /data

WORKDIR /app
COPY requirements.txt requirements-nodeps.txt ./
RUN pip install -r requirements.txt && pip install --no-deps -r requirements-nodeps.txt
COPY --chown=reelsmith:reelsmith . .

USER reelsmith
VOLUME ["/data"]
EXPOSE 7860
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:7860/', timeout=4)"
CMD ["python", "app.py"]
