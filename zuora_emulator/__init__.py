"""A standalone stand-in for Zuora's REST API v1, Object Query API and callouts.

The emulator is an ASGI application (see :func:`zuora_emulator.app.create_app`) with its
own in-memory state. It imports nothing from the portal application. Tests start it with
:func:`zuora_emulator.testing.running_emulator`; operators run ``python -m zuora_emulator``.
"""
