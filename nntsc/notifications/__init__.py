"""Notifications: event groups that match a user's saved filter, sent by e-mail or webhook.

See `docs/events.md` ("Notifications") for how groups are found, when a
message is sent and how delivery is made at most once per group and channel.
"""
