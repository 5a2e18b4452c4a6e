"""A throwaway model (created by the test itself) holding encrypted fields."""

from django.db import models

from jemh.fields import EncryptedJSONField, EncryptedTextField


class SecretHolder(models.Model):
    address = EncryptedTextField()
    details = EncryptedJSONField(null=True)

    class Meta:
        app_label = "jemh"
        managed = False
        db_table = "test_secret_holder"
