"""The simulations' maths: pure numpy over arrays, no Django, each kind's in its own module."""
