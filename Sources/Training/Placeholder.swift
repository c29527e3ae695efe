// Trainer and checkpoints.
