"""Running Midway on a machine: the process supervisor of `midway up`, the embedded redis-server, metrics,
memory tuning, the invite URL, which engines a machine can serve. Used by the CLI and the processes' start-up."""
