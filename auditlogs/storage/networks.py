"""`ip__in_network`: events whose address is inside a network such as 10.0.0.0/8 (the `ip:`
filter of the search box). Each database answers its own way (storage/backends)."""

import ipaddress

from django.db.models import GenericIPAddressField, Lookup

from auditlogs.storage.backends import backend


@GenericIPAddressField.register_lookup
class InNetwork(Lookup):
    lookup_name = "in_network"

    def get_db_prep_lookup(self, value, connection):
        return ("%s", [str(ipaddress.ip_network(value, strict=False))])

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return backend(connection).in_network_sql(lhs, rhs), [*lhs_params, *rhs_params]


def prepare_connection(sender, connection, **kwargs) -> None:
    """Connected to `connection_created` (auditlogs/apps.py)."""
    backend(connection).prepare_connection(connection)
