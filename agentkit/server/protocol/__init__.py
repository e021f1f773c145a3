"""The service's rules, pure: request validation, items, context, usage, reasoning, media, Azure."""
