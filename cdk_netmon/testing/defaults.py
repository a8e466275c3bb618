"""The account and region of the offline world where none is given: the emulator's, the stand-in's."""

DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "eu-west-1"
