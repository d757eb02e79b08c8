"""Statistics for people: the overview, time series, search analytics, trending, pulse and forecasts."""
