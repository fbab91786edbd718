"""Statistics across replications (intervals, quantiles) and closed-form queueing results."""
