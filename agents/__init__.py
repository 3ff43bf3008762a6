"""bc_gym.agents: the Agent interface, VAE, latent GPT and baselines (needs the train extra)."""
