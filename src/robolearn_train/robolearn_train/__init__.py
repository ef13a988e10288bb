"""Offline work on datasets and policies, no ROS graph: `fit` (training) and `dataset` (validate, info, plot, from-bag)."""
