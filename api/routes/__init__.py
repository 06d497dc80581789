"""One Flask-RESTful resource per module."""
