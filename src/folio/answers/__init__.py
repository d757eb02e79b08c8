"""Answers with citations from an organization's documents: one-shot, streamed, in chats, and OpenAI-compatible."""
