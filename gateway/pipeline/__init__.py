"""The document pipeline: intake → trust → validate → normalize → store → receipt."""
