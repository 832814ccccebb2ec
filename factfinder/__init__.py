"""factfinder: an open-source fact-finding platform for investigating a closed-off crisis."""

__version__ = "0.1.0"
