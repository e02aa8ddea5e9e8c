"""Recording: the event catalogue, the request context, `record()`, the chain's linking and
the one declaration of the hashed event (event_form.py).

Owns everything that turns a person's action into a stored, hashed event. Knows organizations
and projects only by id (and the name at the time); imports nothing from `orgs`, `projects`,
`integrations` or the other rooms but `auditlogs.storage`'s database backend. Map:
docs/architecture.md.
"""
