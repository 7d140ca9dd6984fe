"""Level 1: the ticket desk of each country (tickets, conversation, tiers, SLAs, requesters' view)."""
