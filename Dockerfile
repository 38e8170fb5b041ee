# The service image for docker-compose.yml (the database is the official PostGIS image).
FROM python:3.12-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md constraints.txt ./
COPY gis_service ./gis_service
COPY converters ./converters
COPY tiles ./tiles
COPY ogc ./ogc
# the PDF permit report's font (Vietnamese letters); g++ while pip compiles meshoptimizer (an sdist), then removed
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core g++ && rm -rf /var/lib/apt/lists/*
RUN pip install -c constraints.txt . \
    && apt-get purge -y --auto-remove g++ \
    && useradd --system --home /app planning
USER planning
EXPOSE 8000
CMD ["sh", "-c", "planning db migrate && exec planning serve --host 0.0.0.0 --port 8000"]
