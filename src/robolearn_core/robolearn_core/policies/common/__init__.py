"""Parts every policy shares, written once: normalization, vision encoder, embeddings, schedules, U-Net."""
