"""The JSON API's shared pieces: bearer-token users, JSON errors, the `/api/v1` root."""
