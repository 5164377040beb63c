"""Every text a person reads, in English and Russian, and how engine refusals are explained.

Keys are flat strings; `{placeholders}` are filled by `t`. Both catalogs carry the same keys
with the same placeholders (tests/test_i18n.py checks it), so a language can never lack a text.
Texts are plain: escaping for a parse mode (HTML, MarkdownV2) is the channel's job.
"""

from __future__ import annotations

from engine.errors import (
    EngineError,
    InvalidTransition,
    InvalidValue,
    NotAllowed,
    NothingToWithdraw,
    TicketClosed,
)

DEFAULT_LANGUAGE = "en"

_EN: dict[str, str] = {
    # Replies to commands.
    "done": "Done.",
    "ticket_opened": "Ticket #{number} is open.",
    "ticket_exists": "This message already has ticket #{number}.",
    "taken": "You took ticket #{number}.",
    "withdrawn": "↩ Withdrawn: your answer on #{number} was not sent. It stays on the ticket as an internal note.",
    "nothing_to_withdraw": "Nothing of yours on #{number} is waiting to go out: it was sent already, or withdrawn.",
    "nothing_to_withdraw_any": "No answer of yours is waiting to go out: it was sent already, or withdrawn.",
    "not_a_specialist": "This command is for specialists.",
    "help_header": "Commands:",
    "help_footer": "N is a ticket number (123 or #123). Leave it out when you reply to a message about the ticket.",
    "help_aliases": "also {aliases}",
    # Command errors (bot/commands/registry.py).
    "unknown_command": "I don't know /{command}. See /help.",
    "missing_ticket": "Which ticket? Write /{command} 123, or reply to a message about the ticket.",
    "bad_number": "“{value}” is not a ticket number. Write 123 or #123.",
    "unknown_status": "I don't know the status “{value}”. Use open, in_progress, waiting, resolved or closed.",
    "missing_until": "Until when? For example: tomorrow, +3d, 15:00 or 2026-12-01 15:00.",
    "bad_date": "I can't read the date “{value}”. Try 2026-12-01, 01.12.2026 15:00, 15:00, +3d, tomorrow or monday.",
    "date_in_past": "“{value}” has already passed. Pick a time in the future.",
    "missing_text": "Add the text after the command.",
    "missing_person": "Whom? Write /assign 123 @user.",
    "unknown_person": "I don't know {who}.",
    "missing_priority": "Which priority? low, normal, high or urgent.",
    "bad_period": "“{value}” is not a month. Write it as 2026-05.",
    "chat_only": "/{command} works only in Telegram.",
    # Engine refusals (engine/errors.py), rendered by explain().
    "error": "Something went wrong. Please try again.",
    "ticket_not_found": "Ticket #{number} not found.",
    "not_allowed": "Sorry, your role doesn't allow this: {action}.",
    "not_allowed_ticket": "Sorry, your role doesn't allow this on ticket #{number}: {action}.",
    "not_allowed_theirs": "#{number} is {name}'s; ask the lead or {name}.",
    "invalid_transition": "Ticket #{number} is {old}, so it can't become {new}. From here it can go to: {allowed}.",
    "invalid_transition_final": "Ticket #{number} is {old}, so it can't become {new}.",
    "ticket_closed": "Ticket #{number} is closed. Write a new message to open a new ticket.",
    "invalid_value": "“{value}” is not a valid {field} ({reason}).",
    "invalid_choice": "Unknown {field} “{value}”. Choose one of: {choices}.",
    "invalid_until": "The waiting time must be in the future.",
    "invalid_responsible": "Only a specialist can be responsible for a ticket.",
    "person_not_found": "I don't know {who}.",
    # What a role may not do, as the end of "your role doesn't allow this: ...".
    "action.view": "viewing tickets",
    "action.comment": "commenting",
    "action.note": "internal notes",
    "action.take": "taking tickets",
    "action.assign": "assigning tickets",
    "action.status": "changing the status",
    "action.priority": "changing the priority",
    "action.observe": "adding observers",
    "action.metrics": "statistics",
    "field.priority": "priority",
    "field.type": "type",
    "field.until": "waiting time",
    "field.responsible": "responsible",
    "field.tag": "tag",
    "status.open": "open",
    "status.in_progress": "in progress",
    "status.waiting": "waiting",
    "status.resolved": "resolved",
    "status.closed": "closed",
    "priority.low": "low",
    "priority.normal": "normal",
    "priority.high": "high",
    "priority.urgent": "urgent",
    # Notifications (engine/notify/rules.py kinds): a subject line and the body's first line.
    "notify.ack.subject": "Request received: {subject}",
    "notify.ack.body": "Thank you! Your request is ticket #{number}. Reply to this message to add anything.",
    "notify.created.subject": "New ticket #{number}: {subject}",
    "notify.created.body": "Ticket #{number} is open: {subject}",
    "notify.created_cc.subject": "Request #{number} received: {subject}",
    "notify.created_cc.body": "You were copied on this request; it is ticket #{number}.",
    "notify.assigned.subject": "Ticket #{number} is yours: {subject}",
    "notify.assigned.body": "You are now responsible for ticket #{number}: {subject}",
    "notify.unassigned.subject": "Ticket #{number} is no longer yours: {subject}",
    "notify.unassigned.body": "You are no longer responsible for ticket #{number}: {subject}",
    "notify.responsible.subject": "Ticket #{number} has a new responsible: {subject}",
    "notify.responsible.body": "{responsible} is now responsible for ticket #{number}: {subject}",
    "notify.status.subject": "Ticket #{number} is now {status}: {subject}",
    "notify.status.body": "Ticket #{number} ({subject}) is now {status}.",
    "notify.comment.subject": "New reply on ticket #{number}: {subject}",
    "notify.comment.body": "{author} wrote on ticket #{number}:",
    "notify.note.subject": "Internal note on ticket #{number}: {subject}",
    "notify.note.body": "{author} added a note to ticket #{number} (staff only):",
    "notify.observing.subject": "You are watching ticket #{number}: {subject}",
    "notify.observing.body": "You'll hear about changes to ticket #{number}: {subject}",
}

_RU: dict[str, str] = {
    "done": "Готово.",
    "ticket_opened": "Заявка #{number} создана.",
    "ticket_exists": "По этому сообщению уже есть заявка #{number}.",
    "taken": "Вы взяли заявку #{number} в работу.",
    "withdrawn": "↩ Отозвано: ваш ответ по #{number} не отправлен. Он остался в заявке как внутренняя заметка.",
    "nothing_to_withdraw": "По #{number} нет ваших ответов, ждущих отправки: ответ уже ушёл или отозван.",
    "nothing_to_withdraw_any": "Нет ваших ответов, ждущих отправки: ответ уже ушёл или отозван.",
    "not_a_specialist": "Эта команда только для специалистов.",
    "help_header": "Команды:",
    "help_footer": "N — номер заявки (123 или #123). Его можно не писать, если команда — ответ на сообщение о заявке.",
    "help_aliases": "или {aliases}",
    "unknown_command": "Не знаю команду /{command}. Список команд: /help.",
    "missing_ticket": "Какая заявка? Напишите /{command} 123 или ответьте командой на сообщение о заявке.",
    "bad_number": "«{value}» — не номер заявки. Пишите 123 или #123.",
    "unknown_status": "Не знаю статус «{value}». Можно: открыта, в работе, ожидание, решена, закрыта.",
    "missing_until": "До какого срока? Например: завтра, +3d, 15:00 или 01.12.2026 15:00.",
    "bad_date": "Не понимаю дату «{value}». Примеры: 01.12.2026, 2026-12-01 15:00, 15:00, +3d, завтра, пн.",
    "date_in_past": "«{value}» уже прошло. Укажите время в будущем.",
    "missing_text": "Добавьте текст после команды.",
    "missing_person": "Кому? Напишите /assign 123 @user.",
    "unknown_person": "Не нашёл пользователя {who}.",
    "missing_priority": "Какой приоритет? низкий, обычный, высокий или срочный.",
    "bad_period": "«{value}» — не месяц. Пишите так: 2026-05.",
    "chat_only": "/{command} работает только в Telegram.",
    "error": "Что-то пошло не так. Попробуйте ещё раз.",
    "ticket_not_found": "Заявка #{number} не найдена.",
    "not_allowed": "Извините, вашей роли это недоступно: {action}.",
    "not_allowed_ticket": "Извините, для заявки #{number} вашей роли это недоступно: {action}.",
    "not_allowed_theirs": "#{number} ведёт {name}; обратитесь к руководителю или к {name}.",
    "invalid_transition": "Заявка #{number} сейчас «{old}», перевести её в «{new}» нельзя. Отсюда можно: {allowed}.",
    "invalid_transition_final": "Заявка #{number} сейчас «{old}», перевести её в «{new}» нельзя.",
    "ticket_closed": "Заявка #{number} закрыта. Напишите новое сообщение, и откроется новая заявка.",
    "invalid_value": "Недопустимое значение «{value}» для поля «{field}» ({reason}).",
    "invalid_choice": "Неизвестное значение «{value}» для поля «{field}». Можно: {choices}.",
    "invalid_until": "Срок ожидания должен быть в будущем.",
    "invalid_responsible": "Исполнителем заявки может быть только специалист.",
    "person_not_found": "Не нашёл пользователя {who}.",
    "action.view": "просмотр заявок",
    "action.comment": "комментарии",
    "action.note": "внутренние заметки",
    "action.take": "взятие заявок в работу",
    "action.assign": "назначение исполнителя",
    "action.status": "смена статуса",
    "action.priority": "смена приоритета",
    "action.observe": "добавление наблюдателей",
    "action.metrics": "статистика",
    "field.priority": "приоритет",
    "field.type": "тип",
    "field.until": "срок ожидания",
    "field.responsible": "исполнитель",
    "field.tag": "тег",
    # Feminine: each one describes a "заявка".
    "status.open": "открыта",
    "status.in_progress": "в работе",
    "status.waiting": "ожидает ответа",
    "status.resolved": "решена",
    "status.closed": "закрыта",
    "priority.low": "низкий",
    "priority.normal": "обычный",
    "priority.high": "высокий",
    "priority.urgent": "срочный",
    "notify.ack.subject": "Заявка принята: {subject}",
    "notify.ack.body": "Спасибо! Ваша заявка зарегистрирована под номером #{number}. Чтобы что-то добавить, ответьте на это сообщение.",
    "notify.created.subject": "Новая заявка #{number}: {subject}",
    "notify.created.body": "Открыта заявка #{number}: {subject}",
    "notify.created_cc.subject": "Заявка #{number} принята: {subject}",
    "notify.created_cc.body": "Вы были в копии этого обращения; ему присвоен номер #{number}.",
    "notify.assigned.subject": "Вам назначена заявка #{number}: {subject}",
    "notify.assigned.body": "Теперь вы отвечаете за заявку #{number}: {subject}",
    "notify.unassigned.subject": "Заявка #{number} больше не ваша: {subject}",
    "notify.unassigned.body": "Вы больше не отвечаете за заявку #{number}: {subject}",
    "notify.responsible.subject": "У заявки #{number} новый исполнитель: {subject}",
    "notify.responsible.body": "Теперь за заявку #{number} ({subject}) отвечает {responsible}.",
    "notify.status.subject": "Заявка #{number} {status}: {subject}",
    "notify.status.body": "Заявка #{number} ({subject}) теперь {status}.",
    "notify.comment.subject": "Новый ответ по заявке #{number}: {subject}",
    "notify.comment.body": "{author} пишет по заявке #{number}:",
    "notify.note.subject": "Внутренняя заметка по заявке #{number}: {subject}",
    "notify.note.body": "{author} оставил(а) заметку к заявке #{number} (видят только сотрудники):",
    "notify.observing.subject": "Вы наблюдаете за заявкой #{number}: {subject}",
    "notify.observing.body": "Вы будете получать уведомления об изменениях заявки #{number}: {subject}",
}

CATALOG: dict[str, dict[str, str]] = {"en": _EN, "ru": _RU}


class _Params(dict[str, object]):
    """A missing placeholder stays visible as `{name}` instead of failing the whole reply."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def language(code: str | None) -> str:
    """`ru`, `ru-RU`, `RU_ru` -> "ru"; anything we have no catalog for -> English."""
    base = (code or "").replace("_", "-").split("-")[0].lower()
    return base if base in CATALOG else DEFAULT_LANGUAGE


def t(lang: str, key: str, **params: object) -> str:
    template = CATALOG[language(lang)].get(key) or _EN.get(key, key)
    return template.format_map(_Params(params))


def comment_text(lang: str, body: str) -> str:
    """A comment as a reader sees it: a reply mail that only quoted earlier ones is stored
    with no text (nothing invented), and shown as a note saying so."""
    return body if body.strip() else t(lang, "comment.no_new_text")


def has_text(key: str) -> bool:
    return key in _EN


def _named(lang: str, group: str, value: str) -> str:
    """The word for `value` in `group` (status, priority, action, field), else the value."""
    key = f"{group}.{value}"
    return t(lang, key) if has_text(key) else value


def status_name(lang: str, status: str) -> str:
    return _named(lang, "status", status)


def priority_name(lang: str, priority: str) -> str:
    return _named(lang, "priority", priority)


def explain(lang: str, exc: EngineError) -> str:
    """A short sentence in `lang` saying why the engine refused."""
    if isinstance(exc, NotAllowed):
        return _not_allowed(lang, exc)
    if isinstance(exc, InvalidTransition):
        return _invalid_transition(lang, exc)
    if isinstance(exc, InvalidValue):
        return _invalid_value(lang, exc)
    if isinstance(exc, TicketClosed):
        return t(lang, "ticket_closed", number=exc.number)
    if isinstance(exc, NothingToWithdraw) and exc.number is None:
        return t(lang, "nothing_to_withdraw_any")
    return t(lang, exc.code if has_text(exc.code) else "error", **exc.params())


def _not_allowed(lang: str, exc: NotAllowed) -> str:
    action = _named(lang, "action", exc.action)
    if exc.number is not None and exc.responsible is not None:
        return t(lang, "not_allowed_theirs", number=exc.number, name=exc.responsible)
    if exc.number is None:
        return t(lang, "not_allowed", action=action)
    return t(lang, "not_allowed_ticket", action=action, number=exc.number)


def _invalid_transition(lang: str, exc: InvalidTransition) -> str:
    names = {"number": exc.number, "old": status_name(lang, exc.old),
             "new": status_name(lang, exc.new)}
    if not exc.allowed:
        return t(lang, "invalid_transition_final", **names)
    allowed = ", ".join(status_name(lang, s) for s in exc.allowed)
    return t(lang, "invalid_transition", allowed=allowed, **names)


def _invalid_value(lang: str, exc: InvalidValue) -> str:
    if exc.field == "until":
        return t(lang, "invalid_until" if exc.value else "missing_until")
    if exc.field == "responsible":
        return t(lang, "invalid_responsible")
    field = _named(lang, "field", exc.field)
    if exc.choices:
        choices = ", ".join(_named(lang, exc.field, x) for x in exc.choices)
        return t(lang, "invalid_choice", field=field, value=exc.value, choices=choices)
    return t(lang, "invalid_value", field=field, value=exc.value, reason=exc.reason)


# ---------------------------------------------------------------- SLA (owned by the SLA helper)
# Lines of `/status N` and `ticketbot ticket show N` (engine/sla/status.py) and the escalation
# notices (engine/sla/escalation.py, outbox kinds sla_warning and sla_breach). Times are in
# business hours of the ticket's SLA calendar.

_EN.update({
    "sla.header": "SLA ({policy}):",
    "sla.target.first_response": "First response",
    "sla.target.resolution": "Resolution",
    "sla.target.next_response": "Next response",
    "sla.left": "{target}: due {due}, {time} of business time left",
    "sla.overdue": "{target}: due {due}, overdue by {time} of business time",
    "sla.paused": "{target}: clock paused while waiting for the client",
    "sla.met": "{target}: met (due {due})",
    "sla.missed": "{target}: missed by {time} of business time (due {due})",
    "sla.minutes": "{minutes} min",
    "sla.hours": "{hours} h {minutes} min",
    "sla.nobody": "nobody yet",
    "notify.sla_warning.subject": "SLA warning for #{number}: {target} due {due}",
    "notify.sla_warning.body": "Ticket #{number} ({subject}): {target} is due {due}, {time} of business time left. Responsible: {responsible}.",
    "notify.sla_breach.subject": "SLA breached on #{number}: {target}",
    "notify.sla_breach.body": "Ticket #{number} ({subject}): {target} was due {due} and is overdue by {time} of business time. Responsible: {responsible}.",
    "notify.delivery_failed.subject": "Not delivered: {what} to {recipient}",
    "notify.delivery_failed.desk_body": "The {what} message to {recipient} ({channel}) belongs to no ticket; it could not be delivered and is set aside: {reason}. `ticketbot outbox failed` lists it; `ticketbot outbox retry {outbox_id}` sends it again.",
    "notify.delivery_failed.body": "The {what} message of ticket #{number} could not be delivered to {recipient} ({channel}) and is set aside: {reason}. `ticketbot outbox failed` lists it; `ticketbot outbox retry {outbox_id}` sends it again.",
})

_RU.update({
    "sla.header": "SLA ({policy}):",
    "sla.target.first_response": "Первый ответ",
    "sla.target.resolution": "Решение",
    "sla.target.next_response": "Следующий ответ",
    "sla.left": "{target}: срок {due}, осталось {time} рабочего времени",
    "sla.overdue": "{target}: срок {due}, просрочено на {time} рабочего времени",
    "sla.paused": "{target}: отсчёт остановлен, ждём ответа клиента",
    "sla.met": "{target}: в срок (срок {due})",
    "sla.missed": "{target}: просрочено на {time} рабочего времени (срок {due})",
    "sla.minutes": "{minutes} мин",
    "sla.hours": "{hours} ч {minutes} мин",
    "sla.nobody": "пока не назначен",
    "notify.sla_warning.subject": "SLA: подходит срок по заявке #{number}: {target}, {due}",
    "notify.sla_warning.body": "Заявка #{number} ({subject}): {target} — срок {due}, осталось {time} рабочего времени. Исполнитель: {responsible}.",
    "notify.sla_breach.subject": "SLA нарушен по заявке #{number}: {target}",
    "notify.sla_breach.body": "Заявка #{number} ({subject}): {target} — срок {due} прошёл, просрочено на {time} рабочего времени. Исполнитель: {responsible}.",
    "notify.delivery_failed.subject": "Не доставлено: {what} для {recipient}",
    "notify.delivery_failed.desk_body": "Сообщение «{what}» для {recipient} ({channel}) не относится ни к одной заявке; его не удалось доставить, оно отложено: {reason}. Список: `ticketbot outbox failed`; отправить заново: `ticketbot outbox retry {outbox_id}`.",
    "notify.delivery_failed.body": "Сообщение «{what}» по заявке #{number} не удалось доставить {recipient} ({channel}), оно отложено: {reason}. Список: `ticketbot outbox failed`; отправить заново: `ticketbot outbox retry {outbox_id}`.",
})


# ---------------------------------------------------------------- ticket view (owned by the lead)
# `ticketbot ticket show N` / `ticket list` (bot/ticket_view.py).
_EN.update({
    "view.type": "Type",
    "view.priority": "Priority",
    "view.channel": "Channel",
    "view.requester": "Requester",
    "view.responsible": "Responsible",
    "view.observers": "Observers",
    "view.created": "Created",
    "view.updated": "Updated",
    "view.waiting_until": "Waiting until",
    "view.linked": "Follow-up of #{number}",
    "view.tags": "Tags",
    "view.cc": "Copies",
    "view.history": "History",
    "view.nobody": "nobody",
    "view.system": "ticketbot",
    "view.public": "public reply",
    "view.internal": "internal note",
    "view.empty": "No tickets.",
    "view.event.opened": "opened the ticket",
    "view.event.status": "status: {old} → {new}",
    "view.event.responsible": "responsible: {old} → {new}",
    "view.event.priority": "priority: {old} → {new}",
    "view.event.observer": "added observer {person}",
    "view.event.tag": "tagged “{tag}”",
    "view.event.other": "{kind}",
})
_RU.update({
    "view.type": "Тип",
    "view.priority": "Приоритет",
    "view.channel": "Канал",
    "view.requester": "Заявитель",
    "view.responsible": "Исполнитель",
    "view.observers": "Наблюдатели",
    "view.created": "Создана",
    "view.updated": "Изменена",
    "view.waiting_until": "Ожидание до",
    "view.linked": "Продолжение заявки #{number}",
    "view.tags": "Теги",
    "view.cc": "Копии",
    "view.history": "История",
    "view.nobody": "никто",
    "view.system": "ticketbot",
    "view.public": "публичный ответ",
    "view.internal": "внутренняя заметка",
    "view.empty": "Заявок нет.",
    "view.event.opened": "создал(а) заявку",
    "view.event.status": "статус: {old} → {new}",
    "view.event.responsible": "исполнитель: {old} → {new}",
    "view.event.priority": "приоритет: {old} → {new}",
    "view.event.observer": "добавлен наблюдатель {person}",
    "view.event.tag": "тег «{tag}»",
    "view.event.other": "{kind}",
})


# ---------------------------------------------------------------- email channel (owned by the email helper)
# Mail-only texts: footers, notes the mail intake writes on tickets, answers to commands by
# mail. Notification subjects and first lines are the shared `notify.*` keys above.

_EN.update({
    "mail.from_name": "Support",
    "mail.system_name": "Support",
    "mail.footer.client": "To add to ticket #{number}, reply to this message.",
    "mail.footer.staff": "Reply with a command on the first line: /take, /close text, "
                         "/status waiting 2026-12-01, /note text, /reply text. Lines below a "
                         "command are kept as an internal note.",
    "mail.request": "Request:",
    "mail.until": "Until: {until}",
    "mail.reply_subject": "Re: {subject}",
    "mail.bounced_note": "Mail to {addresses} bounced ({reason}). Nothing more is sent to "
                         "that address.",
    "mail.truncated_note": "The incoming mail was {size} bytes, over the {limit}-byte limit; "
                           "it was kept without its largest parts.",
    "comment.no_new_text": "(no new text: the mail only quoted earlier messages)",
    "mail.my.title": "Your requests:",
    "mail.my.row": "#{number} {subject}: {status}, handled by {responsible}",
    "mail.my.nobody": "nobody yet",
    "mail.my.none": "We have no requests from this address.",
    "mail.command_done": "Done: /{command}.",
    "mail.command_unverified": "Your command was not carried out: by mail, a command counts only in a reply to a notification the desk sent you. Reply to one of them with the command as the first line.",
    "mail.bounced_kept_note": "Mail to {addresses} bounced ({reason}). That is not a "
                              "permanent address failure: we keep writing to it.",
    "mail.ack_many.subject": "Requests received: {numbers}",
    "mail.ack_many.body": "Thank you! Your requests are registered as these tickets:",
    "mail.ack_many.footer": "To add to one of them, reply to its tag in the subject, "
                            "for example: Re: {tag}",
    "mail.query_in_chat": "/{command} is answered in Telegram. By mail, use /help or "
                          "/status N.",
    "mail.status_summary": "Ticket #{number}: {subject}\nStatus: {status}\n"
                           "Priority: {priority}\nResponsible: {responsible}",
    "mail.text_cut_note": "[The text of this mail was cut at {limit} characters; the whole "
                          "mail is kept as it arrived.]",
    "mail.link_expired": "Command not accepted: the mail you answered is too old to act on. "
                         "Reply to a recent notice.",
    "mail.unverified_staff": "[Unverified sender: this mail says it is from {address}, but it "
                             "does not answer a recent mail we sent them.]",
})

_RU.update({
    "mail.from_name": "Служба поддержки",
    "mail.system_name": "Служба поддержки",
    "mail.footer.client": "Чтобы дополнить заявку #{number}, ответьте на это письмо.",
    "mail.footer.staff": "Ответьте командой в первой строке: /take, /close текст, "
                         "/status waiting 2026-12-01, /note текст, /reply текст. Строки под "
                         "командой сохраняются как внутренняя заметка.",
    "mail.request": "Обращение:",
    "mail.until": "До: {until}",
    "mail.reply_subject": "Re: {subject}",
    "mail.bounced_note": "Письмо на {addresses} не доставлено ({reason}). Больше писем на "
                         "этот адрес не отправляем.",
    "mail.truncated_note": "Входящее письмо весило {size} байт, больше предела {limit} байт; "
                           "оно сохранено без самых больших частей.",
    "comment.no_new_text": "(нового текста нет: в письме только цитата прежних сообщений)",
    "mail.my.title": "Ваши заявки:",
    "mail.my.row": "#{number} {subject}: {status}, исполнитель: {responsible}",
    "mail.my.nobody": "пока не назначен",
    "mail.my.none": "С этого адреса у нас нет заявок.",
    "mail.command_done": "Готово: /{command}.",
    "mail.command_unverified": "Команда не выполнена: по почте команда действует только в ответе на уведомление, которое служба поддержки прислала вам. Ответьте на одно из них, написав команду первой строкой.",
    "mail.bounced_kept_note": "Письмо на {addresses} не доставлено ({reason}). Это не "
                              "постоянная ошибка адреса: письма на него продолжаем отправлять.",
    "mail.ack_many.subject": "Заявки приняты: {numbers}",
    "mail.ack_many.body": "Спасибо! Ваши обращения зарегистрированы как заявки:",
    "mail.ack_many.footer": "Чтобы дополнить одну из них, ответьте с её номером в теме, "
                            "например: Re: {tag}",
    "mail.query_in_chat": "На /{command} бот отвечает в Telegram. По почте доступны /help и "
                          "/status N.",
    "mail.status_summary": "Заявка #{number}: {subject}\nСтатус: {status}\n"
                           "Приоритет: {priority}\nИсполнитель: {responsible}",
    "mail.text_cut_note": "[Текст письма обрезан до {limit} символов; письмо целиком "
                          "сохранено в том виде, в каком пришло.]",
    "mail.link_expired": "Команда не принята: письмо, на которое вы ответили, слишком старое. "
                         "Ответьте на свежее уведомление.",
    "mail.unverified_staff": "[Отправитель не подтверждён: письмо подписано адресом {address}, "
                             "но не отвечает на наше недавнее письмо этому человеку.]",
})

# ---------------------------------------------------------------- metrics and ratings
# (helper "metrics": bot/stats.py, bot/chart.py, bot/digest.py, engine/ratings.py)

_EN.update({
    "stats.title": "Support statistics for {period} ({tz})",
    "stats.first_line": "First line: {dialogs} dialogs, {answered} answered",
    "stats.response": "Response time: mean {mean}, median {median}, p90 {p90}",
    "stats.business": "  in business hours: mean {mean}, median {median}, p90 {p90}",
    "stats.second_line": "Second line: {opened} opened, {closed} closed, {open} still open "
                         "at the month's end",
    "stats.resolution": "Resolution time: mean {mean}, median {median}, p90 {p90}",
    "stats.waiting": "Waiting on the client: mean {client} ({client_b} in business hours); "
                     "on the specialist: mean {specialist} ({specialist_b} in business hours)",
    "stats.sla": "SLA met: first response {fr}, resolution {res}",
    "stats.share": "{percent}% ({met} of {total})",
    "stats.none": "no data yet",
    "stats.rating": "Rating: {mean} of {scale} ({count} ratings)",
    "stats.rating_none": "Rating: no ratings yet",
    "stats.by_specialist": "By specialist:",
    "stats.specialist": "{name}: {dialogs} dialogs answered, median response {response}; "
                        "{closed} closed, median resolution {resolution}, {open} still open; "
                        "SLA {fr} / {res}; rating {rating}",
    "stats.history": "Previous months:",
    "stats.history_row": "{period}: {dialogs} dialogs, median response {response}; "
                         "{opened} opened, {closed} closed; SLA {fr} / {res}",
    "stats.unit.s": "{n} s",
    "stats.unit.min": "{n} min",
    "stats.unit.h": "{n} h",
    "stats.unit.d": "{n} d",
    "stats.chart.caption": "{first} … {last}. 1: dialogs. 2: median response time, hours "
                           "(blue: calendar, orange: business hours). 3: tickets opened "
                           "(blue) and closed (green). 4: SLA met, % (orange: first "
                           "response, purple: resolution).",
    "stats.chart.text_header": "Month: dialogs · opened/closed · SLA first response/resolution",
    "stats.chart.text_row": "{period} {bar} {dialogs} · {opened}/{closed} · {fr}/{res}",
    "stats.digest.daily": "Daily support digest",
    "stats.digest.weekly": "Weekly support digest",
    "stats.digest.monthly": "Monthly support digest",
    "rating.ask.subject": "How did we do? Ticket #{number}: {subject}",
    "rating.ask.body": "Ticket #{number} ({subject}) is resolved. Please rate the answer "
                       "from 1 (poor) to {scale} (excellent).",
    "rating.ask.mail_hint": "Click a score below, or reply to this mail with just a digit "
                            "from 1 to {scale}.",
    "rating.ask.choice": "{score} of {scale}",
    "rating.thanks": "Thank you! Your rating {score} for ticket #{number} is saved.",
    "rating_not_requester": "Only the person who asked can rate ticket #{number}.",
    "rating_twice": "Ticket #{number} has already been rated. Thank you!",
    "rating_no_survey": "Ticket #{number} is not waiting for a rating.",
    "rating_bad_score": "Please rate from 1 to {scale}.",
})

_RU.update({
    "stats.title": "Статистика поддержки за {period} ({tz})",
    "stats.first_line": "Первая линия: диалогов {dialogs}, с ответом {answered}",
    "stats.response": "Время ответа: среднее {mean}, медиана {median}, p90 {p90}",
    "stats.business": "  в рабочее время: среднее {mean}, медиана {median}, p90 {p90}",
    "stats.second_line": "Вторая линия: новых заявок {opened}, закрыто {closed}, не закрыто "
                         "на конец месяца {open}",
    "stats.resolution": "Время решения: среднее {mean}, медиана {median}, p90 {p90}",
    "stats.waiting": "Ожидание клиента: в среднем {client} ({client_b} в рабочее время); "
                     "работа специалиста: в среднем {specialist} ({specialist_b} в рабочее "
                     "время)",
    "stats.sla": "SLA соблюдён: первый ответ {fr}, решение {res}",
    "stats.share": "{percent}% ({met} из {total})",
    "stats.none": "данных пока нет",
    "stats.rating": "Оценка: {mean} из {scale} (оценок: {count})",
    "stats.rating_none": "Оценка: оценок пока нет",
    "stats.by_specialist": "По специалистам:",
    "stats.specialist": "{name}: ответов в диалогах {dialogs}, медиана ответа {response}; "
                        "закрыто {closed}, медиана решения {resolution}, не закрыто {open}; "
                        "SLA {fr} / {res}; оценка {rating}",
    "stats.history": "Предыдущие месяцы:",
    "stats.history_row": "{period}: диалогов {dialogs}, медиана ответа {response}; "
                         "новых {opened}, закрыто {closed}; SLA {fr} / {res}",
    "stats.unit.s": "{n} с",
    "stats.unit.min": "{n} мин",
    "stats.unit.h": "{n} ч",
    "stats.unit.d": "{n} д",
    "stats.chart.caption": "{first} … {last}. 1: диалоги. 2: медиана времени ответа, часы "
                           "(синий: календарное время, оранжевый: рабочее). 3: заявки новые "
                           "(синий) и закрытые (зелёный). 4: SLA соблюдён, % (оранжевый: "
                           "первый ответ, фиолетовый: решение).",
    "stats.chart.text_header": "Месяц: диалоги · новые/закрытые · SLA первый ответ/решение",
    "stats.chart.text_row": "{period} {bar} {dialogs} · {opened}/{closed} · {fr}/{res}",
    "stats.digest.daily": "Ежедневная сводка поддержки",
    "stats.digest.weekly": "Еженедельная сводка поддержки",
    "stats.digest.monthly": "Ежемесячная сводка поддержки",
    "rating.ask.subject": "Оцените нашу работу: заявка #{number}: {subject}",
    "rating.ask.body": "Заявка #{number} ({subject}) решена. Оцените, пожалуйста, ответ "
                       "от 1 (плохо) до {scale} (отлично).",
    "rating.ask.mail_hint": "Нажмите на оценку ниже или ответьте на это письмо одной цифрой "
                            "от 1 до {scale}.",
    "rating.ask.choice": "{score} из {scale}",
    "rating.thanks": "Спасибо! Ваша оценка {score} для заявки #{number} сохранена.",
    "rating_not_requester": "Оценить заявку #{number} может только её автор.",
    "rating_twice": "Заявка #{number} уже оценена. Спасибо!",
    "rating_no_survey": "Заявка #{number} не ждёт оценки.",
    "rating_bad_score": "Поставьте оценку от 1 до {scale}.",
})

# ---------------------------------------------------------------- Telegram channel
# (owned by the telegram part: bot/channels/telegram/)

_EN.update({
    "tg.card.status": "Status: {status} · priority: {priority}",
    "tg.card.responsible": "Responsible: {name}",
    "tg.card.nobody": "nobody yet",
    "tg.card.requester": "Asked by: {name}",
    "tg.card.waiting": "Waiting for an answer until {until}",
    "tg.card.due_response": "First answer due: {due}",
    "tg.card.due_resolution": "Resolution due: {due}",
    "tg.card.linked": "Follows {number}",
    "tg.someone": "Someone",
    "tg.start": "Hello, {name}! From now on I'll send you news about your tickets here. Reply "
                "to my message about a ticket to add to it.",
    "tg.my.doing": "I work on",
    "tg.my.leading": "I asked for or lead",
    "tg.my.observing": "I observe",
    "tg.my.none": "You have no open tickets.",
    "tg.queue.title": "Unassigned tickets, oldest first",
    "tg.queue.empty": "The queue is empty: every open ticket has someone responsible.",
    "tg.ticket.not_a_question": "Reply with /ticket to a person's message, or send /ticket "
                                "alone to pick one of the last questions.",
    "tg.ticket.no_text": "(a message without text)",
    "tg.picker.title": "Which question becomes a ticket?",
    "tg.picker.empty": "No questions are waiting in the support group.",
    "tg.button.stray": "This button is no longer valid.",
    "tg.private.hint": "To open a ticket, write /new and your question. To add to a ticket, "
                       "reply to my message about it. /help lists all commands.",
    "tg.fallback": "I can't write to you privately (open a chat with me and press Start):",
    "tg.post.opened": "New ticket from {name} ({channel}):",
    "tg.post.client": "{name} wrote ({channel}):",
    "tg.post.answer": "{name} answered:",
    "tg.group.answer": "{number}: {name} answered:",
    "tg.elsewhere.staff": "Answered in the staff chat: this is not for the whole group.",
    "tg.elsewhere.private": "I answered you privately: this is not for the whole group.",
    "tg.post.note": "{name}, internal note:",
    "tg.echo.mailed": "✉ Sent to {name} <{address}>",
    "tg.echo.group": "💬 Posted in the support group",
    "tg.echo.saved": "Saved as a public answer; the requester has no mail address or chat",
    "tg.echo.mailed_held": "✉ To {name} <{address}> in {seconds} s",
    "tg.echo.group_held": "💬 To the support group in {seconds} s",
    "tg.echo.undo_hint": " — /undo to withdraw",
    "tg.setup.unreachable": "I cannot write privately to these staff members:",
    "tg.setup.by_mail": "• {name}: never pressed Start, so notices go by mail to {address}. To get them here: open @{bot} and press Start.",
    "tg.setup.nowhere": "• {name}: cannot be reached at all (never pressed Start, no mail address). Open @{bot} and press Start, or add emails to their [[people]] entry.",
    "tg.echo.undo": "↩ Undo",
    "tg.setup.privacy": "I can't read ordinary messages in the support group, so I can't see "
                        "questions. Make me an administrator of the group, or in @BotFather "
                        "send /setprivacy, choose Disable, then remove me from the group and "
                        "add me again.",
})

_RU.update({
    "tg.card.status": "Статус: {status} · приоритет: {priority}",
    "tg.card.responsible": "Исполнитель: {name}",
    "tg.card.nobody": "пока не назначен",
    "tg.card.requester": "Автор вопроса: {name}",
    "tg.card.waiting": "Ждём ответа до {until}",
    "tg.card.due_response": "Первый ответ до: {due}",
    "tg.card.due_resolution": "Решить до: {due}",
    "tg.card.linked": "Продолжение {number}",
    "tg.someone": "Кто-то",
    "tg.start": "Здравствуйте, {name}! Теперь я буду присылать сюда новости по вашим заявкам. "
                "Чтобы дополнить заявку, ответьте на моё сообщение о ней.",
    "tg.my.doing": "Выполняю",
    "tg.my.leading": "Поставил(а) или руковожу",
    "tg.my.observing": "Наблюдаю",
    "tg.my.none": "Открытых заявок у вас нет.",
    "tg.queue.title": "Заявки без исполнителя, старые первыми",
    "tg.queue.empty": "Очередь пуста: у каждой открытой заявки есть исполнитель.",
    "tg.ticket.not_a_question": "Ответьте командой /ticket на сообщение человека или отправьте "
                                "/ticket без ответа, чтобы выбрать один из последних вопросов.",
    "tg.ticket.no_text": "(сообщение без текста)",
    "tg.picker.title": "Какой вопрос сделать заявкой?",
    "tg.picker.empty": "В группе поддержки нет вопросов, ожидающих заявки.",
    "tg.button.stray": "Эта кнопка больше не действует.",
    "tg.private.hint": "Чтобы создать заявку, напишите /new и ваш вопрос. Чтобы дополнить "
                       "заявку, ответьте на моё сообщение о ней. Все команды: /help.",
    "tg.fallback": "не могу написать вам в личные сообщения (откройте чат со мной и нажмите "
                   "Start):",
    "tg.post.opened": "Новая заявка от {name} ({channel}):",
    "tg.post.client": "{name} пишет ({channel}):",
    "tg.post.answer": "{name} ответил(а):",
    "tg.group.answer": "{number}: {name} ответил(а):",
    "tg.elsewhere.staff": "Ответил в чате специалистов: это не для всей группы.",
    "tg.elsewhere.private": "Ответил вам в личные сообщения: это не для всей группы.",
    "tg.post.note": "{name}, внутренняя заметка:",
    "tg.echo.mailed": "✉ Отправлено: {name} <{address}>",
    "tg.echo.group": "💬 Опубликовано в группе поддержки",
    "tg.echo.saved": "Сохранено как ответ клиенту; у заявителя нет ни почты, ни чата",
    "tg.echo.mailed_held": "✉ Для {name} <{address}> через {seconds} с",
    "tg.echo.group_held": "💬 В группу поддержки через {seconds} с",
    "tg.echo.undo_hint": " — /undo, чтобы отозвать",
    "tg.setup.unreachable": "Я не могу писать в личные сообщения этим сотрудникам:",
    "tg.setup.by_mail": "• {name}: не нажал(а) Start, поэтому уведомления уходят на почту {address}. Чтобы получать их здесь: откройте @{bot} и нажмите Start.",
    "tg.setup.nowhere": "• {name}: недоступен(на) совсем (не нажал(а) Start, нет почты). Откройте @{bot} и нажмите Start или добавьте emails в его/её запись [[people]].",
    "tg.echo.undo": "↩ Отозвать",
    "tg.setup.privacy": "Я не вижу обычные сообщения в группе поддержки и поэтому не вижу "
                        "вопросов. Сделайте меня администратором группы или в @BotFather "
                        "отправьте /setprivacy, выберите Disable, затем удалите меня из группы "
                        "и добавьте снова.",
})

# Mail the intake ignored: rescue, and the digest's line (helper "machine": bot/digest.py,
# bot/channels/email/act/rescue.py).
_EN.update({
    "mail_not_found": "There is no ignored mail {inbound_id} (see `ticketbot mail ignored`).",
    "quarantined_mail_not_found": "There is no quarantined mail {inbound_id} (see "
                                  "`ticketbot mail quarantined`).",
    "action.rescue": "turning ignored mail into tickets",
    "rescue.missing_id": "Which mail? Write /rescue 123 (the number `ticketbot mail ignored` "
                         "shows).",
    "rescue.done": "Mail {inbound_id} is now ticket #{number}. No acknowledgement was sent: "
                   "answer with /reply {number}.",
    "digest.ignored.daily": "{count} mails ignored today: {kinds}.",
    "digest.ignored.weekly": "{count} mails ignored this week: {kinds}.",
    "digest.ignored.monthly": "{count} mails ignored this month: {kinds}.",
    "digest.ignored.hint": "See them: ticketbot mail ignored; /rescue N makes one a ticket.",
    "ignored.bounce": "bounces {n}",
    "ignored.auto_reply": "auto-replies {n}",
    "ignored.list": "mailing lists {n}",
    "ignored.feedback_report": "abuse reports {n}",
    "ignored.notification": "service notifications {n}",
    "ignored.challenge": "sender checks {n}",
    "ignored.own_loop": "our own mail {n}",
    "ignored.other": "other {n}",
})

_RU.update({
    "mail_not_found": "Проигнорированного письма {inbound_id} нет (см. "
                      "`ticketbot mail ignored`).",
    "quarantined_mail_not_found": "Письма {inbound_id} в карантине нет (см. "
                                  "`ticketbot mail quarantined`).",
    "action.rescue": "превращение проигнорированных писем в заявки",
    "rescue.missing_id": "Какое письмо? Напишите /rescue 123 (номер из "
                         "`ticketbot mail ignored`).",
    "rescue.done": "Письмо {inbound_id} стало заявкой #{number}. Подтверждение не "
                   "отправлялось: ответьте через /reply {number}.",
    "digest.ignored.daily": "Сегодня проигнорировано писем: {count} — {kinds}.",
    "digest.ignored.weekly": "За неделю проигнорировано писем: {count} — {kinds}.",
    "digest.ignored.monthly": "За месяц проигнорировано писем: {count} — {kinds}.",
    "digest.ignored.hint": "Список: ticketbot mail ignored; /rescue N делает из письма заявку.",
    "ignored.bounce": "недоставки {n}",
    "ignored.auto_reply": "автоответы {n}",
    "ignored.list": "рассылки {n}",
    "ignored.feedback_report": "жалобы {n}",
    "ignored.notification": "уведомления сервисов {n}",
    "ignored.challenge": "проверки отправителя {n}",
    "ignored.own_loop": "наша же почта {n}",
    "ignored.other": "прочее {n}",
})


# ------------------------------------------------------- ticket fields (issue 14, `fields`)
# /type /tag /observe /unobserve /cc /due /spent (bot/commands/fields.py), their refusals
# (engine/fields.py), the question on /take (bot/commands/required.py) and `ticket show`.

_EN.update({
    "fields.missing_type": "Which type? Write /type 123 incident.",
    "fields.missing_tags": "Which tags? Write /tag 123 +printer -network.",
    "fields.bad_tag": "“{value}” is not a tag: one word of at most 100 characters.",
    "fields.missing_address": "Which address? Write /cc 123 boss@example.com "
                              "(-boss@example.com takes it off).",
    "fields.bad_address": "“{value}” is not a mail address.",
    "fields.missing_due": "Which date? For example /due 123 2026-12-01, 01.12.2026 15:00, "
                          "+3d or friday; /due 123 - clears it.",
    "fields.missing_spent": "How long? For example /spent 123 1h30m, 45m or 2h.",
    "fields.bad_spent": "I can't read the time “{value}”. Write 1h30m, 45m, 1.5h or 2h; "
                        "-15m corrects.",
    "fields.internal_in_group": "Internal tickets are opened in the staff chat, never in "
                                "the support group.",
    "internal_type_needed": "#{number} is an internal ticket, so its type stays internal. "
                            "Choose one of: {choices}.",
    "public_type_needed": "#{number} is a client's ticket: the internal type “{type}” would "
                          "hide it from them. Choose one of: {choices}.",
    "internal_ticket": "#{number} is internal: no client and no copy address can join it.",
    "spent_below_zero": "Only {total} minutes are logged on #{number}; the time spent can't "
                        "go below zero.",
    "action.type": "changing the type",
    "action.tags": "changing tags",
    "action.unobserve": "removing observers",
    "action.cc": "changing copy addresses",
    "action.due": "setting the planned resolution date",
    "action.spent": "logging time spent",
    "action.internal": "internal tickets",
    "field.cc": "copy address",
    "field.due": "planned resolution date",
    "field.spent": "time spent",
    "fields.ask": "Ticket {number} is of type “{type}”, which needs more. Please set:",
    "fields.ask_line": "• {field}: {command}",
    "fields.name.due": "planned resolution date",
    "fields.name.tags": "tags",
    "fields.name.company": "company",
    "fields.name.contract": "contract",
    "fields.name.object": "service object",
    "fields.name.equipment": "equipment",
    "fields.how.due": "/due {number} 2026-12-01",
    "fields.how.tags": "/tag {number} +tag",
    "fields.how.company": "/company {number} NAME",
    "fields.how.contract": "/link {number} contract NAME",
    "fields.how.object": "/link {number} object NAME",
    "fields.how.equipment": "/link {number} equipment NAME",
    "fields.hours_minutes": "{hours} h {minutes} min",
    "fields.hours": "{hours} h",
    "fields.minutes": "{minutes} min",
    "fields.line.type": "Type: {type}",
    "fields.line.internal": "internal",
    "fields.line.tags": "Tags: {tags}",
    "fields.line.due": "Planned resolution: {due}",
    "fields.line.spent": "Time spent: {spent}",
    "view.event.type": "type: {old} → {new}",
    "view.event.untag": "removed tag “{tag}”",
    "view.event.unobserve": "removed observer {person}",
    "view.event.cc_added": "put {address} in copy",
    "view.event.cc_removed": "took {address} off copy",
    "view.event.due": "planned resolution: {old} → {new}",
    "view.event.spent": "time spent: {minutes} (total {total})",
})

_RU.update({
    "fields.missing_type": "Какой тип? Напишите /type 123 incident.",
    "fields.missing_tags": "Какие теги? Напишите /tag 123 +принтер -сеть.",
    "fields.bad_tag": "«{value}» — не тег: одно слово не длиннее 100 символов.",
    "fields.missing_address": "Какой адрес? Напишите /cc 123 boss@example.com "
                              "(-boss@example.com убирает его).",
    "fields.bad_address": "«{value}» — не почтовый адрес.",
    "fields.missing_due": "Какая дата? Например /due 123 2026-12-01, 01.12.2026 15:00, "
                          "+3d или пятница; /due 123 - сбрасывает её.",
    "fields.missing_spent": "Сколько времени? Например /spent 123 1ч30м, 45м или 2ч.",
    "fields.bad_spent": "Не понимаю время «{value}». Напишите 1ч30м, 45м, 1.5ч или 2ч; "
                        "-15м исправляет.",
    "fields.internal_in_group": "Внутренние заявки создаются в чате сотрудников, а не в "
                                "группе поддержки.",
    "internal_type_needed": "#{number} — внутренняя заявка, её тип остаётся внутренним. "
                            "Можно: {choices}.",
    "public_type_needed": "#{number} — заявка клиента: внутренний тип «{type}» скрыл бы её "
                          "от него. Можно: {choices}.",
    "internal_ticket": "#{number} — внутренняя заявка: ни клиента, ни адрес в копии к ней "
                       "добавить нельзя.",
    "spent_below_zero": "По #{number} учтено только {total} мин; затраченное время не может "
                        "стать меньше нуля.",
    "action.type": "смена типа",
    "action.tags": "смена тегов",
    "action.unobserve": "удаление наблюдателей",
    "action.cc": "адреса в копии",
    "action.due": "плановая дата решения",
    "action.spent": "учёт затраченного времени",
    "action.internal": "внутренние заявки",
    "field.cc": "адрес в копии",
    "field.due": "плановая дата решения",
    "field.spent": "затраченное время",
    "fields.ask": "Заявка {number} типа «{type}» требует ещё данных. Укажите:",
    "fields.ask_line": "• {field}: {command}",
    "fields.name.due": "плановая дата решения",
    "fields.name.tags": "теги",
    "fields.name.company": "компания",
    "fields.name.contract": "договор",
    "fields.name.object": "объект обслуживания",
    "fields.name.equipment": "оборудование",
    "fields.how.due": "/due {number} 2026-12-01",
    "fields.how.tags": "/tag {number} +тег",
    "fields.how.company": "/company {number} НАЗВАНИЕ",
    "fields.how.contract": "/link {number} contract НАЗВАНИЕ",
    "fields.how.object": "/link {number} object НАЗВАНИЕ",
    "fields.how.equipment": "/link {number} equipment НАЗВАНИЕ",
    "fields.hours_minutes": "{hours} ч {minutes} мин",
    "fields.hours": "{hours} ч",
    "fields.minutes": "{minutes} мин",
    "fields.line.type": "Тип: {type}",
    "fields.line.internal": "внутренняя",
    "fields.line.tags": "Теги: {tags}",
    "fields.line.due": "Плановое решение: {due}",
    "fields.line.spent": "Затрачено: {spent}",
    "view.event.type": "тип: {old} → {new}",
    "view.event.untag": "убран тег «{tag}»",
    "view.event.unobserve": "убран наблюдатель {person}",
    "view.event.cc_added": "{address} в копии",
    "view.event.cc_removed": "{address} убран(а) из копии",
    "view.event.due": "плановое решение: {old} → {new}",
    "view.event.spent": "затрачено: {minutes} (всего {total})",
})


# ---------------------------------------------------------------- routing and desks (F12, F17)
# engine/routing.py's decisions in a ticket's history, `/move N desk` and its chat lines.

_EN.update({
    "missing_desk": "Which desk? Write /move N desk.",
    "unknown_desk": "There is no desk “{desk}”. Desks: {known}.",
    "tg.post.moved": "{number} moved to desk {desk} by {name}.",
    "view.event.routed": "by rule “{rule}”: {changes}",
    "view.event.moved": "moved from desk {old} to desk {new}",
    "route.responsible": "assigned to {name}",
    "route.desk": "desk {desk}",
    "route.priority": "priority {priority}",
    "route.type": "type {type}",
    "route.tags": "tags {tags}",
    "route.observers": "observers {names}",
    "route.nothing": "nothing to change",
    "view.desk": "Desk",
    "view.planned": "Planned resolution",
})
_RU.update({
    "missing_desk": "В какой отдел? Напишите /move N отдел.",
    "unknown_desk": "Отдела «{desk}» нет. Отделы: {known}.",
    "tg.post.moved": "{number} перенесена в отдел {desk} ({name}).",
    "view.event.routed": "по правилу «{rule}»: {changes}",
    "view.event.moved": "перенесена из отдела {old} в отдел {new}",
    "route.responsible": "назначен(а) {name}",
    "route.desk": "отдел {desk}",
    "route.priority": "приоритет {priority}",
    "route.type": "тип {type}",
    "route.tags": "теги {tags}",
    "route.observers": "наблюдатели {names}",
    "route.nothing": "изменений нет",
    "view.desk": "Отдел",
    "view.planned": "Плановое решение",
})


# ---------------------------------------------------------------- F11 directories (directory helper)
# Cards and lists of `/company X`, `/contact X`, `/tickets WHAT X`, the ticket link commands'
# refusals, and the report of `ticketbot directory import` (bot/directory_text.py,
# bot/directory_cli.py, engine/directory_import.py's reasons).

_EN.update({
    "action.directory": "reading the directories",
    "action.link": "changing the ticket's company, requester or links",
    "dir.missing_what": "Which one? Write /{command} and a name, id, address or phone.",
    "dir.link_what": "Link to what (“{value}”)? Write /link N contract|object|equipment ID; "
                     "- unlinks.",
    "dir.tickets_by": "Tickets by what (“{value}”)? Write /tickets "
                      "company|contact|contract|object|equipment|responsible X.",
    "dir.not_found": "Nothing in the directory matches “{value}”.",
    "dir.several": "Several match; ask again with the id (#N):",
    "dir.several_people": "Several staff members match “{value}”; give an address.",
    "dir.entry_not_found": "“{value}” is not in the directory ({field}).",
    "dir.entry_ambiguous": "“{value}” names several entries ({field}); give the id (#N).",
    "dir.entry_other_company": "“{value}” belongs to another company than ticket #{number}; "
                               "set the ticket's company first (/company {number} X).",
    "dir.title.companies": "Company {title} (#{id})",
    "dir.title.contacts": "Contact {title} (#{id})",
    "dir.title.contracts": "Contract {title} (#{id})",
    "dir.title.objects": "Object {title} (#{id})",
    "dir.title.equipment": "Equipment {title} (#{id})",
    "dir.field.company": "company",
    "dir.field.domains": "mail domains",
    "dir.field.contacts": "contacts",
    "dir.field.contracts": "contracts",
    "dir.field.objects": "objects",
    "dir.field.equipment": "equipment",
    "dir.field.emails": "mail",
    "dir.field.phone": "phone",
    "dir.field.telegram_id": "Telegram id",
    "dir.field.language": "language",
    "dir.field.starts": "from",
    "dir.field.ends": "until",
    "dir.field.sla_policy": "SLA policy",
    "dir.field.address": "address",
    "dir.field.model": "model",
    "dir.field.object": "object",
    "dir.field.manager": "manager",
    "dir.open_tickets": "open tickets: {n}",
    "dir.tickets": "Tickets of {what}, newest first:",
    "dir.no_tickets": "No tickets of {what}.",
    "dir.report": "{kind}: {added} added, {updated} updated, {unchanged} unchanged, "
                  "{refused} refused",
    "dir.refused_line": "line {line}: {reason}",
    "dir.refused.missing": "{value} is empty",
    "dir.refused.too_long": "{value} is too long",
    "dir.refused.unknown_company": "no company named “{value}”",
    "dir.refused.not_staff": "the manager {value} is not a staff member",
    "dir.refused.bad_date": "“{value}” is not a date (2026-01-31)",
    "dir.refused.bad_domain": "“{value}” is not a mail domain",
    "dir.refused.domain_taken": "the domain {value} belongs to another company",
    "dir.refused.bad_address": "“{value}” is not a mail address",
    "dir.refused.bad_telegram": "“{value}” is not a Telegram id",
    "dir.refused.no_key": "a contact needs an address or a Telegram id",
    "dir.refused.bad_phone": "“{value}” is not a phone number",
    "dir.refused.bad_language": "no language “{value}” (en, ru)",
    "dir.refused.ends_before_start": "it ends ({value}) before it starts",
    "dir.refused.unknown_policy": "no SLA policy “{value}”",
    "dir.refused.unknown_object": "the company has no object “{value}”",
    "dir.refused.two_people": "the addresses {value} belong to two different people",
    "dir.refused.staff": "{value} is a staff member, not a contact",
    "dir.refused.repeated": "the same entry as line {value}",
    "view.event.directory_link": "{field}: {old} → {new}",
    "dir.field.requester": "requester",
    "dir.field.contract": "contract",
})

_RU.update({
    "action.directory": "просмотр справочников",
    "action.link": "смена компании, заявителя или привязок заявки",
    "dir.missing_what": "Кого искать? Напишите /{command} и имя, номер, адрес или телефон.",
    "dir.link_what": "К чему привязать («{value}»)? Напишите /link N contract|object|equipment "
                     "ID; - отвязывает.",
    "dir.tickets_by": "Заявки по чему («{value}»)? Напишите /tickets "
                      "company|contact|contract|object|equipment|responsible X.",
    "dir.not_found": "В справочниках нет ничего по запросу «{value}».",
    "dir.several": "Нашлось несколько; повторите с номером (#N):",
    "dir.several_people": "Под «{value}» подходят несколько сотрудников; укажите адрес.",
    "dir.entry_not_found": "«{value}» нет в справочнике ({field}).",
    "dir.entry_ambiguous": "«{value}» подходит к нескольким записям ({field}); укажите "
                           "номер (#N).",
    "dir.entry_other_company": "«{value}» относится к другой компании, чем заявка #{number}; "
                               "сначала задайте компанию заявки (/company {number} X).",
    "dir.title.companies": "Компания {title} (#{id})",
    "dir.title.contacts": "Контакт {title} (#{id})",
    "dir.title.contracts": "Договор {title} (#{id})",
    "dir.title.objects": "Объект {title} (#{id})",
    "dir.title.equipment": "Оборудование {title} (#{id})",
    "dir.field.company": "компания",
    "dir.field.domains": "почтовые домены",
    "dir.field.contacts": "контакты",
    "dir.field.contracts": "договоры",
    "dir.field.objects": "объекты",
    "dir.field.equipment": "оборудование",
    "dir.field.emails": "почта",
    "dir.field.phone": "телефон",
    "dir.field.telegram_id": "Telegram id",
    "dir.field.language": "язык",
    "dir.field.starts": "с",
    "dir.field.ends": "по",
    "dir.field.sla_policy": "политика SLA",
    "dir.field.address": "адрес",
    "dir.field.model": "модель",
    "dir.field.object": "объект",
    "dir.field.manager": "менеджер",
    "dir.open_tickets": "открытых заявок: {n}",
    "dir.tickets": "Заявки: {what}, новые первыми:",
    "dir.no_tickets": "Заявок нет: {what}.",
    "dir.report": "{kind}: добавлено {added}, обновлено {updated}, без изменений "
                  "{unchanged}, отклонено {refused}",
    "dir.refused_line": "строка {line}: {reason}",
    "dir.refused.missing": "{value}: пусто",
    "dir.refused.too_long": "{value}: слишком длинно",
    "dir.refused.unknown_company": "нет компании «{value}»",
    "dir.refused.not_staff": "менеджер {value} не сотрудник",
    "dir.refused.bad_date": "«{value}» не дата (2026-01-31)",
    "dir.refused.bad_domain": "«{value}» не почтовый домен",
    "dir.refused.domain_taken": "домен {value} принадлежит другой компании",
    "dir.refused.bad_address": "«{value}» не адрес почты",
    "dir.refused.bad_telegram": "«{value}» не Telegram id",
    "dir.refused.no_key": "у контакта должен быть адрес или Telegram id",
    "dir.refused.bad_phone": "«{value}» не номер телефона",
    "dir.refused.bad_language": "нет языка «{value}» (en, ru)",
    "dir.refused.ends_before_start": "окончание ({value}) раньше начала",
    "dir.refused.unknown_policy": "нет политики SLA «{value}»",
    "dir.refused.unknown_object": "у компании нет объекта «{value}»",
    "dir.refused.two_people": "адреса {value} принадлежат двум разным людям",
    "dir.refused.staff": "{value} — сотрудник, а не контакт",
    "dir.refused.repeated": "та же запись, что в строке {value}",
    "view.event.directory_link": "{field}: {old} → {new}",
    "dir.field.requester": "заявитель",
    "dir.field.contract": "договор",
})


# Finding things (F17, helper "search"): /find, /queue views, /merge, canned answers
# (bot/commands/finding.py, bot/finding_text.py, bot/canned.py, engine/merge.py).
_EN.update({
    "find.missing_text": "What should I look for? Write /find printer jams.",
    "find.title": "Found for “{query}”:",
    "find.none": "Nothing found for “{query}”.",
    "queue.unknown_view": "I don't know the queue “{value}”. Use all, overdue, mine, "
                          "unassigned or @name.",
    "queue.title.unassigned": "Unassigned tickets, oldest first:",
    "queue.title.all": "Open tickets, oldest first:",
    "queue.title.overdue": "Overdue tickets, oldest first:",
    "queue.title.person": "{name}: open tickets, oldest first:",
    "queue.empty": "None.",
    "queue.more": "… and {more} more ({total} in all).",
    "queue.sla.left": "⏱ {time} left ({target})",
    "queue.sla.overdue": "⚠ overdue by {time} ({target})",
    "queue.sla.paused": "⏸ SLA paused",
    "merge.usage": "Which tickets? Write /merge N M: ticket M joins ticket N and is closed.",
    "merge.same": "#{number} can't be merged into itself.",
    "merge.done": "#{source} is merged into #{target} and closed.",
    "merge_into_itself": "#{number} can't be merged into itself.",
    "merge_target_closed": "#{number} is closed: merge into an open ticket.",
    "merge_source_closed": "#{number} is closed already (merged before?), so it can't "
                           "join #{target}.",
    "action.merge": "merging tickets",
    "notify.merged.subject": "#{source} merged into #{target}",
    "notify.merged.body": "Your request #{source} is now part of ticket #{target}: we "
                          "continue there. Your replies to either reach us.",
    "answer.missing_name": "Which answer? Write /answer 123 name; /answers lists them.",
    "answer.unknown": "There is no canned answer “{name}”. Known: {names}.",
    "answer.nobody": "—",
    "answers.title": "Canned answers (/answer N name):",
    "answers.none": "No canned answers are configured ([answers.NAME] in the config).",
    "view.event.merged": "merged #{source} into #{target}",
})

_RU.update({
    "find.missing_text": "Что искать? Напишите /find принтер жуёт бумагу.",
    "find.title": "Найдено по запросу «{query}»:",
    "find.none": "По запросу «{query}» ничего не найдено.",
    "queue.unknown_view": "Не знаю очередь «{value}». Есть: все, просроченные, мои, "
                          "свободные или @имя.",
    "queue.title.unassigned": "Заявки без исполнителя, старые первыми:",
    "queue.title.all": "Открытые заявки, старые первыми:",
    "queue.title.overdue": "Просроченные заявки, старые первыми:",
    "queue.title.person": "{name}: открытые заявки, старые первыми:",
    "queue.empty": "Нет.",
    "queue.more": "… и ещё {more} (всего {total}).",
    "queue.sla.left": "⏱ осталось {time} ({target})",
    "queue.sla.overdue": "⚠ просрочено на {time} ({target})",
    "queue.sla.paused": "⏸ SLA на паузе",
    "merge.usage": "Какие заявки? Напишите /merge N M: заявка M вольётся в N и закроется.",
    "merge.same": "Заявку #{number} нельзя объединить саму с собой.",
    "merge.done": "#{source} объединена с #{target} и закрыта.",
    "merge_into_itself": "Заявку #{number} нельзя объединить саму с собой.",
    "merge_target_closed": "#{number} закрыта: объединять можно только в открытую заявку.",
    "merge_source_closed": "#{number} уже закрыта (объединена раньше?), поэтому не может "
                           "войти в #{target}.",
    "action.merge": "объединение заявок",
    "notify.merged.subject": "#{source} объединена с #{target}",
    "notify.merged.body": "Ваше обращение #{source} теперь часть заявки #{target}: "
                          "продолжаем там. Ответы на любое из писем дойдут до нас.",
    "answer.missing_name": "Какой ответ? Напишите /answer 123 имя; /answers покажет список.",
    "answer.unknown": "Готового ответа «{name}» нет. Есть: {names}.",
    "answer.nobody": "—",
    "answers.title": "Готовые ответы (/answer N имя):",
    "answers.none": "Готовых ответов нет ([answers.ИМЯ] в конфигурации).",
    "view.event.merged": "объединил(а) #{source} с #{target}",
})


# Files in chat and mail (issue 12, channel flows): files that could not travel with a
# message, and where to fetch them instead.
_EN.update({
    "files.kept": "Files sent with /{command}:",
    "files.too_big_to_fetch": "[File not fetched: {name}, {size}, Telegram file id {file_id}. "
                              "It is larger than the 20 MB a bot may download from Telegram; "
                              "ask the sender to mail it.]",
    "files.fetch_failed": "[File not fetched: {name}, {size}, Telegram file id {file_id} "
                          "({reason}).]",
    "files.not_attached": "Not attached: {name} ({size}). Fetch it with: "
                          "ticketbot attachment get {number} {name}",
    "files.too_big_to_send": "📎 {name} ({size}) is too large to send here. Fetch it with: "
                             "ticketbot attachment get {number} {name}",
    "files.size.bytes": "{n} bytes",
    "files.size.kb": "{n} KB",
    "files.size.mb": "{n} MB",
    "files.size.unknown": "size unknown",
})

_RU.update({
    "files.kept": "Файлы, присланные с /{command}:",
    "files.too_big_to_fetch": "[Файл не получен: {name}, {size}, Telegram file id {file_id}. "
                              "Он больше 20 МБ, которые бот может скачать из Telegram; "
                              "попросите отправителя прислать его почтой.]",
    "files.fetch_failed": "[Файл не получен: {name}, {size}, Telegram file id {file_id} "
                          "({reason}).]",
    "files.not_attached": "Не вложен: {name} ({size}). Получить его: "
                          "ticketbot attachment get {number} {name}",
    "files.too_big_to_send": "📎 {name} ({size}) слишком велик, чтобы отправить его сюда. "
                             "Получить его: ticketbot attachment get {number} {name}",
    "files.size.bytes": "{n} байт",
    "files.size.kb": "{n} КБ",
    "files.size.mb": "{n} МБ",
    "files.size.unknown": "размер неизвестен",
})

# Files both ways (issue 12, storage/CLI/limits): refused files, the ticket's file list.
_EN.update({
    "files.refused.file_too_big": "larger than the {limit} limit per file",
    "files.refused.message_too_big": "the files of one message are limited to {limit} together",
    "files.refused_note": "Files not kept (size limit; the message itself is kept):\n{files}",
    "files.refused_mail": "Your message reached us and is on ticket #{number}, but these "
                          "files were not accepted:\n{files}\n\nPlease send a link to them, "
                          "or send them in smaller parts.",
    "view.files": "Files",
    "view.file_refused": "refused: {reason}",
    "view.refused.file_too_big": "over the size limit per file",
    "view.refused.message_too_big": "over the size limit per message",
    "view.event.files_refused": "files refused: {files}",
})

_RU.update({
    "files.refused.file_too_big": "больше предела {limit} на файл",
    "files.refused.message_too_big": "файлы одного сообщения вместе ограничены {limit}",
    "files.refused_note": "Файлы не сохранены (предел размера; само сообщение сохранено):\n"
                          "{files}",
    "files.refused_mail": "Ваше сообщение получено и добавлено в заявку #{number}, но эти "
                          "файлы не приняты:\n{files}\n\nПришлите, пожалуйста, ссылку на "
                          "них или отправьте их частями поменьше.",
    "view.files": "Файлы",
    "view.file_refused": "не принят: {reason}",
    "view.refused.file_too_big": "больше предела на файл",
    "view.refused.message_too_big": "больше предела на сообщение",
    "view.event.files_refused": "файлы не приняты: {files}",
})
