"""Pure models the services call: statistics and optimisation (forecast, and the scheduler's
workload and optimisation engine). No Flask, no SQL, no files."""
