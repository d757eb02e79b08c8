"""Trending: terms of cases' text and case categories rising in a window against the windows before it."""
