"""Automation: the nightly reindex schedule (`schedule.py`) and the push sensor (`sensor.py`), thin Dagster
layers over the plain-Python decisions in `ref_watch.py`."""
