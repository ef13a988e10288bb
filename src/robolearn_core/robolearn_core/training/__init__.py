"""Training: dataset -> tensors on the device (frame_table), the training loop (trainer), loss curves."""
