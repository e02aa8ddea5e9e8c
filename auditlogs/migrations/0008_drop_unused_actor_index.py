"""The Actor filter matches part of the label through the trigram indexes, so the index of
UPPER(actor_label) served no query; every event's INSERT and link still paid for it."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('auditlogs', '0007_chain_head_scan_from'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='auditevent',
            name='audit_org_actor_time',
        ),
    ]
