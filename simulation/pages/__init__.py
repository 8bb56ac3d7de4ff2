"""The simulation dashboard pages' helpers: results as tables and charts, and job links."""
