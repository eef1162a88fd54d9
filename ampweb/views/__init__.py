"""Views: pages, the JSON/CSV API, health and metrics, and error mapping."""
