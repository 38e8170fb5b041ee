# The service image of docker-compose.yml: the web service, and the same image runs HAProxy and PgBouncer there
# with the configuration 'planning topology render' writes from the settings (deploy/*.template).

# ---- the viewer's npm packages: only the built files the service serves (gis_service/api/viewer.py) ----------------
FROM node:20-bookworm-slim AS viewer
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
    && mkdir -p /viewer/cesium/Build /viewer/maplibre-gl \
    && mv node_modules/cesium/Build/Cesium /viewer/cesium/Build/Cesium \
    && mv node_modules/maplibre-gl/dist /viewer/maplibre-gl/dist \
    && mv node_modules/swagger-ui-dist /viewer/swagger-ui-dist

# ---- the service ---------------------------------------------------------------------------------------------------
FROM python:3.12-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
# the PDF permit report's font (Vietnamese letters); HAProxy and PgBouncer for the balancer and pooler services;
# pgBackRest for the backup service; g++ while pip compiles meshoptimizer (an sdist), then removed
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-dejavu-core haproxy pgbouncer pgbackrest g++ \
    && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md constraints.txt ./
COPY gis_service ./gis_service
COPY converters ./converters
COPY tiles ./tiles
COPY ogc ./ogc
RUN pip install -c constraints.txt . \
    && apt-get purge -y --auto-remove g++ \
    && useradd --system --uid 10001 --home /app planning \
    && mkdir -p /data/tiles /data/vector-tiles /data/certificates /var/lib/planning \
    && chown -R planning /data /var/lib/planning
COPY deploy ./deploy
COPY --from=viewer /viewer ./node_modules

# the 3D tiles and vector tiles are built by the service and kept on a volume: they survive a new container
ENV GIS_VIEWER__NODE_MODULES=/app/node_modules \
    GIS_TILES__OUT_DIR=/data/tiles \
    GIS_VECTOR_TILES__DIR=/data/vector-tiles \
    GIS_CERTIFICATES__DEMO_DIR=/data/certificates \
    GIS_OGC_DIR=/var/lib/planning/ogc \
    GIS_SERVER__HOST=0.0.0.0 \
    GIS_SERVER__PORT=8000
VOLUME ["/data"]
USER planning
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["planning", "serve"]
