"""Chain heads remember where linkers start reading the queue of unlinked events
(ChainHead.scan_from; 0, the whole queue, for existing heads)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('auditlogs', '0006_unlinked_events'),
    ]

    operations = [
        migrations.AddField(
            model_name='chainhead',
            name='scan_from',
            field=models.BigIntegerField(default=0),
        ),
    ]
