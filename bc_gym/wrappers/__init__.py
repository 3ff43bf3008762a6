"""bc_gym.wrappers."""
