"""Kafka-facing parts of kpiflow: the Faust worker (app, ingest with triage, dead letters, the
projector's leader loop, the loopback gateway), the validating producer, the Kafka half of
`kpiflow verify`, and the simulator."""
