"""Durable background jobs: the `jobs` table is the truth, the broker carries job ids."""
