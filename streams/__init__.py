"""Kafka-facing parts of kpiflow: producer, worker agents, dead letters, and the simulator."""
