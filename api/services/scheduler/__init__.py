"""Carbon-aware scheduling, split by idea:

- places: which grid region each candidate location and the original location are in;
- slots: the intensity of those regions on one UTC slot grid (measured where it exists, the
  project's forecast after it), read once per request;
- plan: the runs as the engine's jobs, the request's work budget, the engine on the grid;
- answer: the native answers (POST /carbon-aware-scheduler/ and its best window)."""
