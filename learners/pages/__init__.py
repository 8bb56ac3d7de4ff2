"""Dashboard pages of the learners app (server-rendered, under ``/dashboard/``)."""
