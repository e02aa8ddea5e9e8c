"""Web: the Audit Logs page and its access rules, FilterSet, paging, presenters, views, the
integrity download, sign-in hooks and the operators' admin.

The only room that reads `orgs` and `projects` (tenancy, memberships); it writes events only
through `auditlogs.record`. Map: docs/architecture.md.
"""
