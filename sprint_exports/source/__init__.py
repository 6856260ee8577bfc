"""The tracker database: schema, connection, readers and the demo generator."""
