"""The seed's job API (handlers, orchestrator, results) on top of the stages and Dagster."""
