"""HTTP API, web pages and the CLI: parse, authorise, call one service, render."""
