"""VSS interoperability gateway: signed documents in, common records and receipts out."""
