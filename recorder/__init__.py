"""The recorder: recorded sessions from `{sentivis}:records` into the sessions database."""
