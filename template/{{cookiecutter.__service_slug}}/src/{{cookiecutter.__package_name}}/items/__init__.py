"""Items: an example CRUD module (contracts, storage, handlers, routes) to copy for your own."""
