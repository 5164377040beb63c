"""An in-process fake of the Telegram Bot API (aiohttp), for driving the real
python-telegram-bot application over HTTP. Grown from docs/libraries.md appendix A.

What it does like Telegram: per-token auth (401), long-polling getUpdates that honours
`offset`, HTML parse-mode checking ("can't parse entities"), the 4096-character limit,
403 for a private chat whose user never started the bot, editMessageText with "message is not
modified", and injected failures (429 with retry_after, 502, a dropped connection). Files:
people post photos, documents, voice notes and videos (`post_file`); getFile answers a path
and the bytes are served at /file/bot<token>/<path>, refused over the 20 MB download limit
as Telegram does; sendDocument and sendPhoto keep the bytes the bot uploaded (`uploads`).

Tests wait on `calls` through `wait_for(...)` (an asyncio.Condition), never on time.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import html
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

TOKEN = "123456:TEST-TOKEN"
BOT_ID = 123456
BOT_USERNAME = "desk_bot"
JSON_FIELDS = {"reply_markup", "allowed_updates", "entities", "caption_entities",
               "reply_parameters", "link_preview_options", "commands", "scope", "media",
               "results"}
MAX_TEXT = 4096
MAX_CAPTION = 1024
DOWNLOAD_LIMIT = 20 * 1024 * 1024  # getFile refuses bigger files ("file is too big")
UPLOAD_LIMIT = 50 * 1024 * 1024  # sendDocument takes files up to this size
# Tags Telegram's HTML parse mode knows (core.telegram.org/bots/api#html-style).
_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a",
         "code", "pre", "blockquote", "tg-emoji"}
_TOKEN_RE = re.compile(r"<(/?)([a-z-]+)(\s[^<>]*)?>|&(#\d+|#x[0-9a-fA-F]+|lt|gt|amp|quot);|[<>&]")

Json = dict[str, Any]


@dataclass(frozen=True)
class Call:
    method: str
    params: Json
    at: float = 0.0  # time.perf_counter() on arrival, for the benchmark


@dataclass(frozen=True)
class User:
    id: int
    first_name: str
    username: str | None = None
    is_bot: bool = False
    language_code: str | None = None

    def json(self) -> Json:
        data: Json = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data


BOT = User(BOT_ID, "Desk Bot", BOT_USERNAME, is_bot=True)


@dataclass
class Failure:
    kind: str  # "429" | "502" | "drop" | "403" | "400"
    retry_after: int = 1


@dataclass(frozen=True)
class Upload:
    """A file the bot sent: the multipart field's file name, type and bytes."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class StoredFile:
    """A file people posted, as Telegram keeps it (`size` may claim more than `data`)."""

    file_id: str
    data: bytes
    size: int
    path: str


class ApiError(Exception):
    def __init__(self, code: int, description: str, **parameters: Any) -> None:
        super().__init__(description)
        self.code, self.description, self.parameters = code, description, parameters


def parse_html(text: str) -> str:
    """The visible text of an HTML-mode message, or ApiError as Telegram would answer."""
    visible: list[str] = []
    stack: list[str] = []
    pos = 0
    for match in _TOKEN_RE.finditer(text):
        visible.append(text[pos:match.start()])
        pos = match.end()
        closing, tag, entity = match.group(1), match.group(2), match.group(4)
        if tag is not None:
            _tag(tag, bool(closing), stack)
        elif entity is not None:
            visible.append(html.unescape(match.group(0)))
        elif match.group(0) != ">":
            raise ApiError(400, f"Bad Request: can't parse entities: unexpected "
                                f"{match.group(0)!r} at byte offset {match.start()}")
        else:
            visible.append(">")
    if stack:
        raise ApiError(400, f"Bad Request: can't parse entities: can't find end tag "
                            f"corresponding to start tag {stack[-1]}")
    visible.append(text[pos:])
    return "".join(visible)


def _tag(tag: str, closing: bool, stack: list[str]) -> None:
    if tag not in _TAGS:
        raise ApiError(400, f"Bad Request: can't parse entities: unsupported start tag {tag!r}")
    if not closing:
        stack.append(tag)
    elif not stack or stack.pop() != tag:
        raise ApiError(400, f"Bad Request: can't parse entities: unmatched end tag {tag!r}")


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass
class FakeBotAPI:
    """State of one fake Telegram: chats, messages, updates, calls."""

    can_read_all_group_messages: bool = False
    admins: dict[int, set[int]] = field(default_factory=dict)
    chats: dict[int, Json] = field(default_factory=dict)
    started: set[int] = field(default_factory=set)
    messages: dict[tuple[int, int], Json] = field(default_factory=dict)
    updates: list[Json] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    failures: dict[str, list[Failure]] = field(default_factory=dict)
    reactions: dict[tuple[int, int], list[str]] = field(default_factory=dict)
    files: dict[str, StoredFile] = field(default_factory=dict)
    downloads: list[str] = field(default_factory=list)  # file paths fetched, in order
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)

    def __post_init__(self) -> None:
        self.update_seq = itertools.count(1)
        self.message_seq = itertools.count(1000)
        self.changed = asyncio.Condition()
        self.closing = False

    # --- test control ---------------------------------------------------------------------

    def add_chat(self, chat_id: int, title: str, *, kind: str = "supergroup",
                 forum: bool = False) -> None:
        self.chats[chat_id] = {"id": chat_id, "type": kind, "title": title, "is_forum": forum}

    def fail(self, method: str, kind: str, *, count: int = 1, retry_after: int = 1) -> None:
        self.failures.setdefault(method.lower(), []).extend(
            Failure(kind, retry_after) for _ in range(count))

    async def push(self, update: Json) -> int:
        update["update_id"] = next(self.update_seq)
        async with self.changed:
            self.updates.append(update)
            self.changed.notify_all()
        return int(update["update_id"])

    async def push_many(self, updates: list[Json]) -> int:
        """Queue many updates at once (a burst); returns the last update id."""
        async with self.changed:
            for update in updates:
                update["update_id"] = next(self.update_seq)
                self.updates.append(update)
            self.changed.notify_all()
        return int(updates[-1]["update_id"])

    def message_update(self, user: User, chat_id: int, text: str) -> Json:
        """An update for a new message, not queued yet (see `push_many`)."""
        return {"message": self._message(chat_id, user, text, None, None, None)}

    async def say(self, user: User, chat_id: int, text: str, *, reply_to: int | None = None,
                  at: dt.datetime | None = None, entities: list[Json] | None = None,
                  thread: int | None = None) -> tuple[int, int]:
        """A person writes; returns (update id, message id)."""
        msg = self._message(chat_id, user, text, at, reply_to, thread)
        if entities:
            msg["entities"] = entities
        self.messages[(chat_id, msg["message_id"])] = msg
        if chat_id > 0:
            self.started.add(user.id)
        return await self.push({"message": msg}), int(msg["message_id"])

    async def post_file(self, user: User, chat_id: int, kind: str, data: bytes, *,
                        name: str | None = None, mime: str | None = None,
                        caption: str | None = None, reply_to: int | None = None,
                        size: int | None = None, album: str | None = None) -> tuple[int, int]:
        """A person posts a file (`kind`: photo, document, voice, video, audio, video_note,
        animation) with an optional caption; `size` claims a bigger file than `data` (the
        20 MB download limit without 20 MB in memory); `album`: the media group id of
        files sent together. Returns (update id, message id)."""
        msg = self._message(chat_id, user, "", None, reply_to, None)
        del msg["text"]
        if album is not None:
            msg["media_group_id"] = album
        if caption is not None:
            msg["caption"] = caption
        file_id = f"file-{next(self.message_seq)}"
        stored = StoredFile(file_id, data, size if size is not None else len(data),
                            f"{kind}s/{file_id}_{name or kind}")
        self.files[file_id] = stored
        about: Json = {"file_id": file_id, "file_unique_id": "u" + file_id,
                       "file_size": stored.size}
        if kind == "photo":
            msg["photo"] = [{**about, "file_id": "thumb-" + file_id, "width": 90, "height": 60},
                            {**about, "width": 1280, "height": 960}]
            self.files["thumb-" + file_id] = StoredFile("thumb-" + file_id, b"thumb", 5,
                                                        "photos/thumb")
        else:
            extra = {"duration": 3} if kind in ("voice", "video", "audio", "video_note",
                                                "animation") else {}
            if kind in ("video", "video_note", "animation"):
                extra.update(width=640, height=480, length=640)
            if kind == "video_note":
                extra.pop("width"), extra.pop("height")
            msg[kind] = {**about, **extra,
                         **({"file_name": name} if name else {}),
                         **({"mime_type": mime} if mime else {})}
        self.messages[(chat_id, msg["message_id"])] = msg
        if chat_id > 0:
            self.started.add(user.id)
        return await self.push({"message": msg}), int(msg["message_id"])

    async def edit(self, user: User, chat_id: int, message_id: int, text: str,
                   at: dt.datetime | None = None) -> int:
        msg = dict(self.messages[(chat_id, message_id)])
        msg["text"] = text
        msg["edit_date"] = int((at or self.now()).timestamp())
        self.messages[(chat_id, message_id)] = msg
        return await self.push({"edited_message": msg})

    async def press(self, user: User, chat_id: int, message_id: int, data: str) -> int:
        message = self.messages.get((chat_id, message_id)) or self._message(
            chat_id, BOT, "?", None, None, None)
        return await self.push({"callback_query": {
            "id": str(next(self.message_seq)), "from": user.json(), "chat_instance": "1",
            "data": data, "message": message}})

    def _message(self, chat_id: int, user: User, text: str, at: dt.datetime | None,
                 reply_to: int | None, thread: int | None) -> Json:
        msg: Json = {"message_id": next(self.message_seq),
                     "date": int((at or self.now()).timestamp()),
                     "chat": self._chat(chat_id, user), "from": user.json(), "text": text}
        if reply_to is not None and (chat_id, reply_to) in self.messages:
            replied = dict(self.messages[(chat_id, reply_to)])
            replied.pop("reply_to_message", None)
            msg["reply_to_message"] = replied
        if thread is not None:
            msg["message_thread_id"], msg["is_topic_message"] = thread, True
        return msg

    def _chat(self, chat_id: int, user: User | None = None) -> Json:
        if chat_id in self.chats:
            return dict(self.chats[chat_id])
        if chat_id > 0:
            name = user.first_name if user is not None and user.id == chat_id else "User"
            return {"id": chat_id, "type": "private", "first_name": name}
        return {"id": chat_id, "type": "supergroup", "title": "Unknown group"}

    def sent(self, method: str = "sendmessage", chat_id: int | None = None) -> list[Json]:
        return [c.params for c in self.calls if c.method == method
                and (chat_id is None or int(c.params.get("chat_id", 0)) == chat_id)]

    def uploads(self, chat_id: int | None = None) -> list[tuple[Json, Upload]]:
        """Files the bot sent (sendDocument, sendPhoto): the call's parameters and the file."""
        return [(c.params, upload) for c in self.calls if c.method in ("senddocument",
                                                                       "sendphoto")
                and (chat_id is None or int(c.params.get("chat_id", 0)) == chat_id)
                for upload in [c.params.get("document") or c.params.get("photo")]
                if isinstance(upload, Upload)]

    def bot_messages(self, chat_id: int) -> list[Json]:
        """Messages the bot has in a chat now (edits applied), oldest first."""
        return [m for (chat, _), m in sorted(self.messages.items())
                if chat == chat_id and m["from"]["id"] == BOT_ID]

    async def wait_for(self, check: Callable[[FakeBotAPI], Any], timeout: float = 10) -> Any:
        """Until `check` returns something truthy; the timeout is only an upper bound."""
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(lambda: check(self)), timeout)
        return check(self)

    # --- HTTP -----------------------------------------------------------------------------

    async def api(self, request: web.Request) -> web.StreamResponse:
        token, method = request.match_info["token"], request.match_info["method"].lower()
        params = await _params(request)
        async with self.changed:
            self.calls.append(Call(method, params, time.perf_counter()))
            self.changed.notify_all()
        if token != TOKEN:
            return _error(ApiError(401, "Unauthorized"))
        failure = self._failure(method)
        if failure is not None:
            return await self._fail(request, failure)
        handler = getattr(self, "m_" + method, None)
        if handler is None:
            return _error(ApiError(404, "Not Found: method not found"))
        try:
            result = await handler(params)
        except ApiError as exc:
            return _error(exc)
        async with self.changed:
            self.changed.notify_all()
        return web.json_response({"ok": True, "result": result})

    def _failure(self, method: str) -> Failure | None:
        queue = self.failures.get(method)
        return queue.pop(0) if queue else None

    async def _fail(self, request: web.Request, failure: Failure) -> web.StreamResponse:
        if failure.kind == "429":
            return _error(ApiError(429, f"Too Many Requests: retry after {failure.retry_after}",
                                   retry_after=failure.retry_after))
        if failure.kind == "502":
            return web.Response(status=502, text="Bad Gateway")
        if failure.kind == "403":
            return _error(ApiError(403, "Forbidden: bot was blocked by the user"))
        if failure.kind == "400":
            return _error(ApiError(400, "Bad Request: chat not found"))
        assert request.transport is not None  # "drop": close without an answer
        request.transport.close()
        raise asyncio.CancelledError

    # --- Bot API methods ------------------------------------------------------------------

    async def m_getme(self, p: Json) -> Json:
        return {**BOT.json(), "can_join_groups": True, "supports_inline_queries": False,
                "can_read_all_group_messages": self.can_read_all_group_messages}

    async def m_deletewebhook(self, p: Json) -> bool:
        return True

    async def m_setmycommands(self, p: Json) -> bool:
        return True

    async def m_getchat(self, p: Json) -> Json:
        chat_id = int(p["chat_id"])
        if chat_id < 0 and chat_id not in self.chats:
            raise ApiError(400, "Bad Request: chat not found")
        return {**self._chat(chat_id), "accent_color_id": 0, "max_reaction_count": 11,
                "accepted_gift_types": {"unlimited_gifts": False, "limited_gifts": False,
                                        "unique_gifts": False, "premium_subscription": False,
                                        "gifts_from_channels": False}}

    async def m_getchatmember(self, p: Json) -> Json:
        chat_id, user_id = int(p["chat_id"]), int(p["user_id"])
        user = BOT.json() if user_id == BOT_ID else {"id": user_id, "is_bot": False,
                                                      "first_name": "User"}
        if user_id in self.admins.get(chat_id, set()):
            return {"status": "administrator", "user": user, "can_be_edited": False,
                    "is_anonymous": False, "can_manage_chat": True, "can_delete_messages": True,
                    "can_manage_video_chats": True, "can_restrict_members": True,
                    "can_promote_members": False, "can_change_info": True,
                    "can_invite_users": True, "can_post_stories": False,
                    "can_edit_stories": False, "can_delete_stories": False}
        return {"status": "member", "user": user}

    async def m_getupdates(self, p: Json) -> list[Json]:
        offset = int(p.get("offset") or 0)
        timeout = float(p.get("timeout") or 0)
        limit = int(p.get("limit") or 100)
        async with self.changed:
            if offset:
                self.updates = [u for u in self.updates if u["update_id"] >= offset]
            if not self.updates and timeout:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.changed.wait_for(
                        lambda: bool(self.updates) or self.closing), timeout)
            return self.updates[:limit]

    async def m_sendmessage(self, p: Json) -> Json:
        chat_id = int(p["chat_id"])
        self._check_chat(chat_id)
        text = self._text(p)
        msg = self._message(chat_id, BOT, text, None, _reply_to(p), _int(p.get("message_thread_id")))
        msg["html"] = p.get("text", "")
        if p.get("reply_markup"):
            msg["reply_markup"] = p["reply_markup"]
        self.messages[(chat_id, msg["message_id"])] = msg
        return _public(msg)

    async def m_sendphoto(self, p: Json) -> Json:
        return await self._send_file(p, "photo")

    async def m_senddocument(self, p: Json) -> Json:
        return await self._send_file(p, "document")

    async def _send_file(self, p: Json, kind: str) -> Json:
        chat_id = int(p["chat_id"])
        self._check_chat(chat_id)
        upload = p.get(kind)
        if not isinstance(upload, Upload) or not upload.data:
            raise ApiError(400, f"Bad Request: there is no {kind} in the request")
        if len(upload.data) > UPLOAD_LIMIT:
            raise ApiError(413, "Request Entity Too Large")
        raw = str(p.get("caption", ""))
        caption = parse_html(raw) if str(p.get("parse_mode", "")).upper() == "HTML" else raw
        if utf16_len(caption) > MAX_CAPTION:
            raise ApiError(400, "Bad Request: message caption is too long")
        # "text" stays (empty) on the bot's own messages: tests read it from every one.
        msg = self._message(chat_id, BOT, "", None, _reply_to(p), None)
        file_id = f"sent-{next(self.message_seq)}"
        if kind == "photo":
            msg["photo"] = [{"file_id": file_id, "file_unique_id": "u" + file_id,
                             "width": 720, "height": 480}]
        else:
            msg["document"] = {"file_id": file_id, "file_unique_id": "u" + file_id,
                               "file_name": upload.filename, "file_size": len(upload.data)}
        msg["caption"] = caption
        self.messages[(chat_id, msg["message_id"])] = msg
        return _public(msg)

    async def m_getfile(self, p: Json) -> Json:
        stored = self.files.get(str(p.get("file_id")))
        if stored is None:
            raise ApiError(400, "Bad Request: invalid file_id")
        if stored.size > DOWNLOAD_LIMIT:
            raise ApiError(400, "Bad Request: file is too big")
        return {"file_id": stored.file_id, "file_unique_id": "u" + stored.file_id,
                "file_size": stored.size, "file_path": stored.path}

    async def download(self, request: web.Request) -> web.StreamResponse:
        """GET /file/bot<token>/<path>: the bytes of a file getFile named."""
        if request.match_info["token"] != TOKEN:
            return web.Response(status=401)
        path = request.match_info["path"]
        stored = next((f for f in self.files.values() if f.path == path), None)
        if stored is None:
            return web.Response(status=404)
        async with self.changed:
            self.downloads.append(path)
            self.changed.notify_all()
        return web.Response(body=stored.data, content_type="application/octet-stream")

    async def m_editmessagetext(self, p: Json) -> Json:
        key = (int(p["chat_id"]), int(p["message_id"]))
        msg = self.messages.get(key)
        if msg is None or msg["from"]["id"] != BOT_ID:
            raise ApiError(400, "Bad Request: message to edit not found")
        text = self._text(p)
        markup = p.get("reply_markup")
        if text == msg.get("text") and markup == msg.get("reply_markup"):
            raise ApiError(400, "Bad Request: message is not modified: specified new message "
                                "content and reply markup are exactly the same as a current "
                                "content and reply markup of the message")
        msg = {**msg, "text": text, "html": p.get("text", ""),
               "edit_date": int(self.now().timestamp())}
        msg.pop("reply_markup", None)
        if markup:
            msg["reply_markup"] = markup
        self.messages[key] = msg
        return _public(msg)

    async def m_answercallbackquery(self, p: Json) -> bool:
        return True

    async def m_setmessagereaction(self, p: Json) -> bool:
        """The bot's reactions, by message (a chat may allow none: `fail` it)."""
        key = (int(p["chat_id"]), int(p["message_id"]))
        if key not in self.messages:
            raise ApiError(400, "Bad Request: message to react not found")
        raw = p.get("reaction") or "[]"
        reaction = json.loads(raw) if isinstance(raw, str) else raw
        self.reactions[key] = [r.get("emoji", "") for r in reaction]
        return True

    def _check_chat(self, chat_id: int) -> None:
        if chat_id > 0 and chat_id not in self.started:
            raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        if chat_id < 0 and chat_id not in self.chats:
            raise ApiError(400, "Bad Request: chat not found")

    def _text(self, p: Json) -> str:
        raw = str(p.get("text", ""))
        text = parse_html(raw) if str(p.get("parse_mode", "")).upper() == "HTML" else raw
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if utf16_len(text) > MAX_TEXT:
            raise ApiError(400, "Bad Request: message is too long")
        return text


def _int(value: Any) -> int | None:
    return None if value in (None, "") else int(value)


def _reply_to(p: Json) -> int | None:
    params = p.get("reply_parameters")
    if isinstance(params, dict):
        return int(params["message_id"])
    return _int(p.get("reply_to_message_id"))


def _public(msg: Json) -> Json:
    return {k: v for k, v in msg.items() if k != "html"}


def _error(exc: ApiError) -> web.Response:
    body: Json = {"ok": False, "error_code": exc.code, "description": exc.description}
    if exc.parameters:
        body["parameters"] = exc.parameters
    return web.json_response(body, status=exc.code)


async def _params(request: web.Request) -> Json:
    params: Json = dict(request.query)
    if request.can_read_body:
        if request.content_type == "application/json":
            params.update(await request.json())
        else:  # x-www-form-urlencoded (PTB) or multipart/form-data (file uploads)
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, str):
                    params[key] = value
                elif isinstance(value, web.FileField):
                    params[key] = Upload(value.filename or "file", value.content_type,
                                         value.file.read())
                else:
                    params[key] = Upload("file", "", bytes(value))
    # Nested objects arrive as JSON strings in form fields; decode only those, since a
    # text such as "[#12] ..." also starts with a bracket.
    return {k: json.loads(v) if k in JSON_FIELDS and isinstance(v, str) else v
            for k, v in params.items()}


@dataclass
class Running:
    fake: FakeBotAPI
    runner: web.AppRunner
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def close(self) -> None:
        async with self.fake.changed:  # end held long polls, or shutdown waits them out
            self.fake.closing = True
            self.fake.changed.notify_all()
        await self.runner.cleanup()


async def serve(fake: FakeBotAPI) -> Running:
    """Listen on a free loopback port."""
    app = web.Application(client_max_size=UPLOAD_LIMIT + 1024 * 1024)  # multipart uploads
    app.router.add_route("*", "/bot{token}/{method}", fake.api)
    app.router.add_route("GET", "/file/bot{token}/{path:.+}", fake.download)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server = site._server  # aiohttp keeps the bound socket here; port 0 chose it
    assert server is not None
    port = int(server.sockets[0].getsockname()[1])  # type: ignore[attr-defined]
    return Running(fake, runner, port)
