"""Connected sources (Notion, Confluence, Guru, the web) whose items are synced in as documents."""
