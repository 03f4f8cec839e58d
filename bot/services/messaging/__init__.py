"""Messaging services that are not tied to one channel's wire format."""
