"""Launch files and YAML parameters, installed from the workspace's top-level launch/ and config/; check_launch."""
