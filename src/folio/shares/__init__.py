"""Shares: items pointed out to members with a note (to their inboxes), and public read-only links."""
