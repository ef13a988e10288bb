"""Closed-loop evaluation in the simulated world, through the same node graph a real arm uses.

- ``sim_graph``: start the simulated world's node processes as sim.launch.py does, and stop them;
- ``evaluate``: the ``evaluate`` command (episodes on given seeds, success rate, timing).
"""
