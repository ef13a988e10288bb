"""Recording episodes from streams: the sampling rule (``stream_sampler``) and the episode state machine
(``episode_recorder``) that the recorder node and ``dataset from-bag`` share."""
