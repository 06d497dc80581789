"""Domain models the API routes call: boundaries lookup, cloud locations and (later) workloads."""
