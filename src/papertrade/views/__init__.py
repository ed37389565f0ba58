"""Presentation shared by the command line and the dashboard: JSON documents and charts."""
