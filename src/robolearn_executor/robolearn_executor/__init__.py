"""executor_node: plays action chunks at 50 Hz with a queue, request threshold, temporal ensembling and safety limits."""
