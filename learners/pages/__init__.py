"""The learners app's dashboard pages (``/dashboard/learners/...``): thin views over selectors
and services."""
