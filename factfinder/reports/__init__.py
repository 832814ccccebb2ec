"""Reports and exports: what a case hands over."""
