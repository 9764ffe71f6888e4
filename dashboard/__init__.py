"""The web dashboard: a class watches the cloud work, in a browser.

Server-rendered pages (Flask, Jinja templates) over the services' public
REST APIs, called with the logged-in user's own token, so a member sees in
the dashboard what the `openstack` client would show them, and no more.
"""
