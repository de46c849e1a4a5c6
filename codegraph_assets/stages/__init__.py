"""The four stage implementations (plain Python): what each asset does, callable without Dagster."""
