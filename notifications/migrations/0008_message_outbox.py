from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('notifications', '0007_purchase_expected_event_kind'),
        ('oms', '0004_staff_changes'),
        ('orders', '0008_payments'),
    ]

    operations = [
        # The sent/failed flag becomes the state, converted by DDL (a rewrite that row-level security does not
        # filter, unlike an UPDATE run by a role the policies apply to).
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    "ALTER TABLE notifications_messagelog ALTER COLUMN ok DROP DEFAULT;"
                    "ALTER TABLE notifications_messagelog ALTER COLUMN ok TYPE varchar(10) "
                    "USING CASE WHEN ok THEN 'sent' ELSE 'failed' END;"
                    "ALTER TABLE notifications_messagelog RENAME COLUMN ok TO state;",
                    reverse_sql=migrations.RunSQL.noop,
                ),
            ],
            state_operations=[
                migrations.RemoveField(model_name='messagelog', name='ok'),
                migrations.AddField(
                    model_name='messagelog',
                    name='state',
                    field=models.CharField(choices=[('queued', 'Queued'), ('sending', 'Sending'), ('sent', 'Sent'), ('failed', 'Failed')], default='queued', max_length=10),
                ),
            ],
        ),
        migrations.AddField(
            model_name='messagelog',
            name='actor_label',
            field=models.CharField(blank=True, max_length=150),
        ),
        migrations.AddField(
            model_name='messagelog',
            name='attempts',
            field=models.PositiveSmallIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='messagelog',
            name='next_attempt_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='messagelog',
            name='provider_ref',
            field=models.CharField(blank=True, max_length=100),
        ),
        migrations.AddField(
            model_name='messagelog',
            name='sent_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddIndex(
            model_name='messagelog',
            index=models.Index(condition=models.Q(('state__in', ['queued', 'sending'])), fields=['next_attempt_at'], name='messagelog_due'),
        ),
    ]
