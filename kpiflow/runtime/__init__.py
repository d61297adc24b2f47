"""Local services for development, tests and the demo.

`kafka`: fetches Apache Kafka from Maven Central (once, into a cache outside git) and runs a
single-node KRaft broker on loopback whose data lives in the kpiflow data directory. The modules
beside it are its parts: `kafka_install` (Maven download), `kafka_config` (server.properties and
JVM command, pure), `kafka_admin` (readiness and topics, for any cluster), `process` (detached
processes and pid files).
"""
