"""bc_gym.screen."""
