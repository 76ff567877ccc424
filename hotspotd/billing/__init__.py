"""Selling access: packages, payments, subscriptions, credentials, vouchers."""
