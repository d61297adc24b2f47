# The kpiflow image used by docker-compose.yml (worker, simulator, one-off commands).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md constraints.txt ./
COPY kpiflow ./kpiflow
COPY events ./events
COPY streams ./streams
COPY projections ./projections
COPY dashboards ./dashboards
RUN pip install --no-cache-dir -c constraints.txt . \
 && useradd --create-home --uid 10001 kpiflow \
 && mkdir -p /data /dashboards \
 && chown kpiflow /data /dashboards
# not root: the worker, the simulator and the one-off commands need nothing root may do
USER kpiflow
ENTRYPOINT ["kpiflow"]
