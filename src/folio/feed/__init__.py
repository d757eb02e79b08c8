"""The activity feed: the organization's stored events as a person reads them, newest first."""
