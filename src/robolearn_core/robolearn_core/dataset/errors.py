"""The one error of the dataset code, apart from the reader and writer that both raise it."""


class DatasetError(ValueError):
    """The directory is not a readable (or writable) LeRobot v3.0 dataset; the message says what and how to fix it."""
