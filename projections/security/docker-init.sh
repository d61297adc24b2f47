#!/bin/bash
# ClickHouse image init hook (docker-compose): create the kpiflow users from environment secrets.
set -euo pipefail
db="${CLICKHOUSE_DB:-kpiflow}"
[[ "$db" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || { echo "bad database name $db" >&2; exit 1; }
clickhouse-client --user "$CLICKHOUSE_USER" --password "$CLICKHOUSE_PASSWORD" \
  --query "CREATE DATABASE IF NOT EXISTS $db"
sed "s/{db}/$db/g" /kpiflow/users.sql | grep -v '^--' | clickhouse-client \
  --user "$CLICKHOUSE_USER" --password "$CLICKHOUSE_PASSWORD" --multiquery \
  --param_pipeline_password="$KPIFLOW_PIPELINE_PASSWORD" \
  --param_grafana_password="$KPIFLOW_GRAFANA_PASSWORD" \
  --param_ops_password="${KPIFLOW_OPS_PASSWORD:-$(head -c 24 /dev/urandom | base64)}" \
  --param_coaching_password="$KPIFLOW_GRAFANA_COACHING_PASSWORD"
