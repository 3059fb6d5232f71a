"""Games: :mod:`gans.games.base` holds the plumbing, each other module one family of games."""
