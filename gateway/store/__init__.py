"""Durable storage of receipts, common records and archived originals."""
