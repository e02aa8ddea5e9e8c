"""What tests share besides fixtures, imported from here (never from a conftest):

- `factories`: factory_boy factories for people, organizations, memberships, projects, chatbots;
- `clients`: Django test clients signed in as a person;
- `events`: synthetic events through `generate_audit_events`;
- `integrity`: a varied chain, and tampering that goes around the append-only guards.
- `receivers`: what a webhook receiver checks (the signature);
- `locks` and `concurrency`: a second connection or a held request, to put two writers in a
  known order on PostgreSQL.

The personas every test meets (Acme and its people, Globex, Initech, support staff) are
fixtures in tests/conftest.py, built with these factories.
"""
