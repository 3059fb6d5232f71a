"""Generators and discriminators, one family per file."""
