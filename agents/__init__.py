"""bc_gym.agents: the Agent interface, VAE, latent GPT and baselines (needs the train extra).

Agents are registered by name (``latent-gpt``, ``cnn-bc``, ``imitation-bc``, ``random``,
``majority``); each lives in one module and is imported on first use.

Example:
    >>> from bc_gym.agents import agent_names
    >>> agent_names()
    ['cnn-bc', 'imitation-bc', 'latent-gpt', 'majority', 'random']
"""

from bc_gym.agents.base import (
    Agent,
    agent_class,
    agent_names,
    load_agent,
    make_agent,
    read_config,
    register_agent,
)

__all__ = [
    "Agent",
    "agent_class",
    "agent_names",
    "load_agent",
    "make_agent",
    "read_config",
    "register_agent",
]
