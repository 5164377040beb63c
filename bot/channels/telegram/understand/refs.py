"""Chat message refs as the engine stores them (`uow.refs`): `tg:<chat_id>:<message_id>`.
The format is the engine's (`engine/chatrefs.py`): a first-line dialog is keyed by the ref
of its first message, and the engine keeps those dialogs."""

from __future__ import annotations

from engine.chatrefs import PREFIX, MessageRef, parse_ref, ref

__all__ = ["PREFIX", "MessageRef", "parse_ref", "ref"]
