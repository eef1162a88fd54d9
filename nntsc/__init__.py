"""NNTSC: the collector and stores of the network time-series platform."""
