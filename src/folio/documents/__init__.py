"""Documents: uploads, their storage, and their lifecycle."""
