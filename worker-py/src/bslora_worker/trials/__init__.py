"""One trial's work on the worker: the trial as the worker sees it, its adapter, its training run."""
