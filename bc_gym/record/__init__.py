"""bc_gym.record."""
