from django.db import models


class ProbeDelivery(models.Model):
    """No unique constraint on purpose: a duplicate delivery must show up as a second row."""

    event_id = models.BigIntegerField()
    at = models.DateTimeField(auto_now_add=True)
