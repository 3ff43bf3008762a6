"""bc_gym.datasets: the trajectory format, loaders, samplers, exports and recipes."""
