"""Running the product: the worker's scheduled tasks, health and metrics endpoints, logs."""
