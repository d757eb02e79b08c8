"""Cases: records worked by people — numbers, priorities, SLAs, a status workflow, comments, saved views."""
