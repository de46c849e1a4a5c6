"""ConfigurableResources wrapping the outside world."""
