-- Originals and records' JSON packed as gateway/store/packing.py says: each row's codec
-- (identity, zstd, zstd:{dictionary id}) and size (the unpacked length). Rows stored before keep
-- their bytes as they are and read as identity (size NULL: their length); adding a column with a
-- constant default rewrites no row. The blobs are zstd frames already: STORAGE EXTERNAL spares
-- the server compressing them again (pglz) when a row is large enough to be moved out of line.

ALTER TABLE originals
    ADD COLUMN codec text NOT NULL DEFAULT 'identity',
    ADD COLUMN size bigint;
ALTER TABLE originals ALTER COLUMN body SET STORAGE EXTERNAL;

ALTER TABLE records
    ADD COLUMN codec text NOT NULL DEFAULT 'identity',
    ADD COLUMN size bigint;
ALTER TABLE records ALTER COLUMN json SET STORAGE EXTERNAL;
