-- Least-privilege ClickHouse users for server mode (not used by the embedded engine).
-- {db} is the kpiflow database; passwords are bound parameters ({name:String}), given from the
-- environment by docker-init.sh (docker-compose) or by clickhouse-client --param_<name>=...,
-- never written here (docs/operations.md).
--
--   kpiflow_pipeline : the worker and the CLI. Reads and inserts; ALTER DELETE only for dropping
--                      a retired projection version. No DROP, no access outside {db}.
--   kpiflow_grafana  : Grafana. Read-only (readonly = 2, so max_execution_time and other query
--                      settings can still be set per query), on {db} only, with limits.
--   kpiflow_ops      : people running ad-hoc queries. Read-only on {db}.
--   kpiflow_grafana_coaching : the coaching board's data source (managers only). Read-only on
--                      {db} including the coaching tables, which the reader role cannot read:
--                      per-rep insight values exist in one place (docs/coaching.md).
--   engine_snapshots (the projector's saved state) is the pipeline's alone: no reader role.
CREATE SETTINGS PROFILE IF NOT EXISTS kpiflow_readonly SETTINGS readonly = 2, max_execution_time = 30 MAX 120, max_result_rows = 1000000;
CREATE ROLE IF NOT EXISTS kpiflow_reader;
GRANT SELECT ON {db}.* TO kpiflow_reader;
CREATE ROLE IF NOT EXISTS kpiflow_writer;
GRANT SELECT, INSERT, CREATE TABLE, CREATE VIEW, ALTER DELETE ON {db}.* TO kpiflow_writer;
CREATE USER IF NOT EXISTS kpiflow_pipeline IDENTIFIED WITH sha256_password BY {pipeline_password:String} DEFAULT ROLE kpiflow_writer;
GRANT kpiflow_writer TO kpiflow_pipeline;
CREATE USER IF NOT EXISTS kpiflow_grafana IDENTIFIED WITH sha256_password BY {grafana_password:String} SETTINGS PROFILE kpiflow_readonly DEFAULT ROLE kpiflow_reader;
GRANT kpiflow_reader TO kpiflow_grafana;
CREATE USER IF NOT EXISTS kpiflow_ops IDENTIFIED WITH sha256_password BY {ops_password:String} SETTINGS PROFILE kpiflow_readonly DEFAULT ROLE kpiflow_reader;
GRANT kpiflow_reader TO kpiflow_ops;
REVOKE SELECT ON {db}.coaching_deals FROM kpiflow_reader;
REVOKE SELECT ON {db}.coaching_stays FROM kpiflow_reader;
REVOKE SELECT ON {db}.coaching_closes FROM kpiflow_reader;
REVOKE SELECT ON {db}.engine_snapshots FROM kpiflow_reader;
CREATE ROLE IF NOT EXISTS kpiflow_coach;
GRANT SELECT ON {db}.* TO kpiflow_coach;
REVOKE SELECT ON {db}.engine_snapshots FROM kpiflow_coach;
CREATE USER IF NOT EXISTS kpiflow_grafana_coaching IDENTIFIED WITH sha256_password BY {coaching_password:String} SETTINGS PROFILE kpiflow_readonly DEFAULT ROLE kpiflow_coach;
GRANT kpiflow_coach TO kpiflow_grafana_coaching;
