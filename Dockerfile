# The kpiflow image used by docker-compose.yml (worker, simulator, one-off commands).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY kpiflow ./kpiflow
COPY events ./events
COPY streams ./streams
COPY projections ./projections
COPY dashboards ./dashboards
RUN pip install --no-cache-dir .
ENTRYPOINT ["kpiflow"]
