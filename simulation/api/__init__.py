"""The simulations API (``/api/v1/simulations/``)."""

#: The throttle scope of a request (``THROTTLE_SIMULATION``): each run may read every learner's
#: features over weeks, so fewer than other requests.
THROTTLE_SCOPE = "simulation"
