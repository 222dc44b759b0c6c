"""The hospital adapter: QĐ 130 claim batches (decoding, normalization, synthetic data)."""
