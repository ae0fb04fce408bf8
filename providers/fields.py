"""EncryptedTextField that stays encrypted in serialized dumps (dumpdata, fixtures).

picker.crypto.EncryptedTextField serializes its plaintext (value_to_string reads the Python
value), so `dumpdata` would print tokens in clear; this subclass writes the Fernet token and
reads it back on loaddata. rotate_keys still finds it (it is an EncryptedTextField).
"""

from picker.crypto import EncryptedTextField, decrypt, encrypt


class SealedTextField(EncryptedTextField):
    def value_to_string(self, obj):
        value = self.value_from_object(obj)
        return encrypt(value) if value else value

    def to_python(self, value):
        value = super().to_python(value)
        if not value:
            return value
        try:
            return decrypt(value)
        except ValueError:
            return value
