"""Stand-ins for the sources connectors call, each a real HTTP server speaking that source's documented API."""
