"""The name providers' migrations know their secret columns by.

Every picker.crypto.EncryptedTextField stays encrypted in serialized dumps now (it began here,
for provider tokens, and moved into the base field so that app secrets, storage credentials and
webhook secrets are sealed in dumps too).
"""

from picker.crypto import EncryptedTextField


class SealedTextField(EncryptedTextField):
    """An EncryptedTextField; kept as a class of its own for the migrations that name it."""
