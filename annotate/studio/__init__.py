"""Everything that talks to Label Studio: the local server, the client, push and pull."""
