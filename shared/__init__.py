"""Common code of the four services: the event contract, the consumer pipeline, settings, clock."""
