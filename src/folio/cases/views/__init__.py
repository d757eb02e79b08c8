"""Saved views: named sets of case-list filters, a member's own or shared with the organization."""
