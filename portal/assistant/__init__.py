"""The Level 0 assistant: answers questions from the tenant's knowledge base, or hands over to a person."""
