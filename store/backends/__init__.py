"""One module per database engine, each giving a store.database.Database."""
