-- What a purge removed, kept on the store's registry row: a second purge (a
-- retry after a lost answer, or a double click) answers with it and rewrites
-- nothing.
alter table tenant add column purge_result jsonb;
