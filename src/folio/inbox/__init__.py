"""The inbox: each member's notifications (a case assigned, a mention, a share, an alert, a failed job, a disabled
webhook), pushed live to their streams, and their choice of channel per kind."""
