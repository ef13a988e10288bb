"""Launch files and YAML parameters for robolearn, installed from the workspace's top-level launch/ and config/, plus the static launch check."""
