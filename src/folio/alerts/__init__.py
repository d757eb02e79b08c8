"""Alerts: rules (saved searches, conditions on cases, spike detectors) evaluated in bulk as documents and cases are
indexed and enriched and every few minutes, raising throttled alerts with events and notifications."""
