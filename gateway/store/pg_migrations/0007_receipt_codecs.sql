-- Receipts' JSON and signed XML packed as gateway/store/receipt_rows.py says: one codec per row
-- for both (identity, zstd, zstd:{dictionary id}) and each one's unpacked size. Rows stored
-- before keep their bytes and read as identity (sizes NULL: their lengths); adding a column with
-- a constant default rewrites no row. The blobs are zstd frames already: STORAGE EXTERNAL spares
-- the server compressing them again (pglz) when a row is moved out of line.

ALTER TABLE receipts
    ADD COLUMN codec text NOT NULL DEFAULT 'identity',
    ADD COLUMN json_size bigint,
    ADD COLUMN xml_size bigint;
ALTER TABLE receipts ALTER COLUMN json SET STORAGE EXTERNAL;
ALTER TABLE receipts ALTER COLUMN xml SET STORAGE EXTERNAL;

ALTER TABLE dossier_receipts
    ADD COLUMN codec text NOT NULL DEFAULT 'identity',
    ADD COLUMN json_size bigint,
    ADD COLUMN xml_size bigint;
ALTER TABLE dossier_receipts ALTER COLUMN json SET STORAGE EXTERNAL;
ALTER TABLE dossier_receipts ALTER COLUMN xml SET STORAGE EXTERNAL;
