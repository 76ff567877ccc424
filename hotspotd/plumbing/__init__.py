"""The site's plumbing: roles and their runtime, the supervisor, the task queue and its
tasks, the worker, the reconciler, and the small mechanisms they share."""
