"""bc_gym.envs."""
