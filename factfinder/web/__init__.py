"""The web app: the same operations as the CLI, for a team in browsers and for witnesses."""
