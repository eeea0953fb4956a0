"""HTTP API layer of proconsul: request routing, query parameters, response encoding."""
