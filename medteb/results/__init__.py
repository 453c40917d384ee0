"""Results: the folder layout of ``results/``, submission and its verification, the leaderboard,
its figure and the rank-correlation report."""
