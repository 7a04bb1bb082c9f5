"""The sign-up form: Django's, except for what it says when the name is not free."""

from __future__ import annotations

from django.contrib.auth.forms import UserCreationForm

# A sign-up has to learn that it cannot have a name (names are unique, case aside), but Django's "A user with that
# username already exists" tells anyone that an account is there to be guessed at. This says only that the name is
# not available; how many names one address may try is PLANET_RATE_LIMIT_ACCOUNTS.
NAME_UNAVAILABLE = "This username cannot be used. Choose another one."


class SignUpForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        # ModelForm puts these in place of the model's own messages of the same code (clean_username's included).
        error_messages = {"username": {"unique": NAME_UNAVAILABLE}}
