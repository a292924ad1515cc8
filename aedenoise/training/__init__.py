"""Training: the loop (train), the jitted and sharded step (step), the train state, and weights
imported from PyTorch as a first checkpoint (importing, torch_import)."""
