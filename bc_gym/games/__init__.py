"""Built-in games. Each has a headless Gymnasium env, a real window and a scripted expert."""
