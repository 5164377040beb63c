"""strip_quotes: exact reply text for each client's quoting style, in EN, RU and other languages,
including the cases simple "cut at the first match" strippers get wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.channels.email.understand.parse import parse_mail
from bot.channels.email.understand.quotes import strip_quotes

MAIL_DIR = Path(__file__).parent / "mail"
Q = "> Hello,\n>\n> please reboot the router.\n"  # a typical quoted support answer

TEXT_CASES = [
    # id, mail text, expected reply
    # ---- English
    ("gmail_en", "Thanks!\n\nOn Mon, Nov 16, 2026 at 10:00 AM Support Desk "
     "<support@help.example.com> wrote:\n\n" + Q, "Thanks!"),
    ("gmail_en_wrapped_before_verb", "Thanks!\n\nOn Mon, Nov 16, 2026 at 10:00 AM Support Desk "
     "<support@help.example.com>\nwrote:\n\n" + Q, "Thanks!"),
    ("gmail_en_wrapped_inside_address", "Thanks!\n\nOn Mon, Nov 16, 2026 at 10:00 AM Support "
     "Desk <\nsupport@help.example.com> wrote:\n\n" + Q, "Thanks!"),
    ("outlook_en_original_message", "Fine now.\n\n-----Original Message-----\nFrom: Support Desk "
     "<support@help.example.com>\nSent: Monday, November 16, 2026 10:00 AM\nTo: John\n"
     "Subject: RE: VPN\n\nHello John,\nplease reboot.", "Fine now."),
    ("outlook_en_header_block", "Works.\n\nJohn\n\n________________________________\nFrom: "
     "Support Desk <support@help.example.com>\nSent: Monday, November 16, 2026 10:00 AM\n"
     "To: John Smith <john@acme.example.com>\nCc: IT <it@acme.example.com>\nSubject: RE: VPN\n\n"
     "Hello John,\nplease reboot.", "Works.\n\nJohn"),
    ("outlook_bold_headers_via_gmail", "OK\n\n*From:* Support Desk <support@help.example.com>\n"
     "*Sent:* Monday, November 16, 2026 10:00 AM\n*To:* John\n*Subject:* RE: VPN\n\nold", "OK"),
    ("apple_en_quoted_attribution", "Sure, after 3 pm.\n\nSent from my iPhone\n\n> On Nov 16, "
     "2026, at 10:00, Support Desk <support@help.example.com> wrote:\n>\n> When can we come?",
     "Sure, after 3 pm."),
    ("apple_en", "Sure.\n\nOn Nov 16, 2026, at 10:00, Support Desk <support@help.example.com> "
     "wrote:\n\n" + Q, "Sure."),
    ("thunderbird_en_bottom", "On 16/11/2026 10:00, Support Desk wrote:\n" + Q +
     "\nDone, it works now.\n\n-- \nTom", "Done, it works now."),
    ("interleaved_en", "On 16.11.2026 10:00, Support Desk wrote:\n> Which model?\n\nHP M404.\n\n"
     "> Which floor?\n\nThird.\n", "HP M404.\n\nThird."),
    ("horde_quoting", "Received, thanks.\n\nQuoting Support Desk <support@help.example.com>:\n\n"
     + Q, "Received, thanks."),
    ("signature_dash_dash_space", "Reply text.\n\n-- \nJohn Smith\nACME Corp", "Reply text."),
    ("signature_without_space", "Reply text.\n--\nJohn", "Reply text."),
    ("mobile_footers_en", "Yes.\n\nSent from my Samsung Galaxy smartphone.\nGet Outlook for iOS"
     "<https://aka.ms/o0ukef>", "Yes."),
    ("body_line_ending_in_wrote_kept", "The error dialog wrote:\nAccess denied (0x5)\n\n"
     "Please help.", "The error dialog wrote:\nAccess denied (0x5)\n\nPlease help."),
    ("unprefixed_quote_after_dated_attribution", "Reply\n\nOn 16/11/2026, 10:00, \"Support Desk\" "
     "<support@help.example.com> wrote:\n\nOld unprefixed text.\nMore of it.", "Reply"),
    ("gmail_forward_inside_reply", "FYI, see below.\n\n---------- Forwarded message ---------\n"
     "From: Vendor <sales@vendor.example.com>\nDate: Mon, Nov 16, 2026 at 9:00 AM\n"
     "Subject: Delay\nTo: <john@acme.example.com>\n\nDelivery is late.", "FYI, see below."),
    ("nested_quotes", "Agreed.\n\nOn Tue, Nov 17, 2026 at 9:00 AM John <john@acme.example.com> "
     "wrote:\n> Fine.\n>\n> > On Mon, Nov 16, 2026 at 10:00 AM Support <s@help.example.com> "
     "wrote:\n> > Reboot.", "Agreed."),
    # ---- Russian
    ("thunderbird_ru_top", "Спасибо!\n\n16.11.2026 10:00, Служба поддержки пишет:\n> Перезагрузите "
     "роутер.", "Спасибо!"),
    ("thunderbird_ru_wrapped_no_blank_line", "Спасибо!\n16.11.2026 10:00, Служба поддержки\n"
     "пишет:\n> Перезагрузите роутер.", "Спасибо!"),
    ("thunderbird_ru_bottom", "16.11.2026 10:00, Служба поддержки пишет:\n> Проверьте кабель.\n>\n"
     "> -- \n> Служба поддержки\n\nКабель подключён, не печатает.\n\n-- \nОльга",
     "Кабель подключён, не печатает."),
    ("outlook_ru", "Спасибо, всё заработало.\n\nОт: Служба поддержки <support@help.example.com>\n"
     "Отправлено: 16 ноября 2026 г. 10:00\nКому: Анна\nТема: RE: 1С\n\nАнна, добрый день!",
     "Спасибо, всё заработало."),
    ("outlook_ru_original_message", "Получили.\n\n-----Исходное сообщение-----\nОт: Служба\n"
     "Отправлено: 16 ноября 2026 г. 10:00\n\nстарое", "Получили."),
    ("gmail_ru", "Да, повторилась.\n\nпн, 16 нояб. 2026 г. в 10:00, Служба поддержки "
     "<support@help.example.com>:\n\n> Ошибка повторяется?", "Да, повторилась."),
    ("yandex", "Оплачено.\n\n16.11.2026, 10:00, \"Служба поддержки\" <support@help.example.com>:\n"
     "> Счёт № 15.", "Оплачено."),
    ("mailru", "Получили.\n\nПонедельник, 16 ноября 2026, 10:00 +03:00 от Служба поддержки "
     "<support@help.example.com>:\n> Инженер приедет в среду.", "Получили."),
    ("apple_ru", "Удобно после 15:00.\n\n> 16 нояб. 2026 г., в 10:00, Служба поддержки "
     "<support@help.example.com> написал(а):\n>\n> Когда удобно?", "Удобно после 15:00."),
    ("thebat_initials_interleaved", "Здравствуйте, Служба.\n\nВы писали 16 ноября 2026 г., 10:00:"
     "\n\nСП> Модель принтера?\n\nKyocera M2040dn.\n\nСП> Кабинет?\n\n214.\n\n-- \nС уважением,\n"
     " Иван", "Здравствуйте, Служба.\n\nKyocera M2040dn.\n\n214."),
    ("initials_prefix_without_attribution", "Ответ ниже не нужен.\n\n ИП> старый текст\n ИП> ещё",
     "Ответ ниже не нужен."),
    ("body_line_ending_in_pishet_kept", "Программа пишет:\nОшибка 0x80070005\n\nЧто делать?",
     "Программа пишет:\nОшибка 0x80070005\n\nЧто делать?"),
    ("body_line_with_time_and_pishet_kept", "В 10:00 программа пишет:\nнет связи с сервером.",
     "В 10:00 программа пишет:\nнет связи с сервером."),
    ("forwarded_memo_ot_data", "Коллеги, что делать?\n\nОт: Поставщик <sales@vector.example.ru>\n"
     "Дата: 16.11.2026 09:12\nТема: Задержка\n\nПоставка в декабре.", "Коллеги, что делать?"),
    ("thunderbird_ru_forward_any_order", "Смотрите ниже.\n\n-------- Перенаправленное сообщение "
     "--------\nТема: Задержка\nДата: Mon, 16 Nov 2026 09:12:00 +0300\nОт: Поставщик "
     "<sales@vector.example.ru>\nКому: zakupki@client.example.ru\n\nПоставка в декабре.",
     "Смотрите ниже."),
    ("mobile_footers_ru", "Принято.\n\nОтправлено с iPhone\nОтправлено из мобильной Почты Mail.ru",
     "Принято."),
    # ---- other languages
    ("german", "Danke!\n\nAm Mo., 16. Nov. 2026 um 10:00 Uhr schrieb Support Desk "
     "<support@help.example.com>:\n" + Q, "Danke!"),
    ("german_outlook", "Erledigt.\n\nVon: Support Desk <support@help.example.com>\nGesendet: "
     "Montag, 16. November 2026 10:00\nAn: Hans\nBetreff: AW: Router\n\nalt", "Erledigt."),
    ("french", "Merci.\n\nLe lun. 16 nov. 2026 à 10:00, Support Desk <support@help.example.com> a "
     "écrit :\n" + Q, "Merci."),
    ("french_outlook", "Merci.\n\nDe : Support Desk <support@help.example.com>\nEnvoyé : lundi 16 "
     "novembre 2026 10:00\nÀ : Jean\nObjet : RE: Imprimante\n\nancien", "Merci."),
    ("spanish", "Gracias.\n\nEl lun, 16 nov 2026 a las 10:00, Support Desk "
     "(<support@help.example.com>) escribió:\n" + Q, "Gracias."),
    ("italian", "Grazie.\n\nIl giorno lun 16 nov 2026 alle ore 10:00 Support Desk "
     "<support@help.example.com> ha scritto:\n" + Q, "Grazie."),
    ("dutch", "Bedankt.\n\nOp ma 16 nov. 2026 om 10:00 schreef Support Desk "
     "<support@help.example.com>:\n" + Q, "Bedankt."),
    ("polish_thunderbird", "Dziękuję.\n\nW dniu 16.11.2026 o 10:00, Support Desk pisze:\n" + Q,
     "Dziękuję."),
    ("polish_gmail", "Dziękuję.\n\npon., 16 lis 2026 o 10:00 Support Desk "
     "<support@help.example.com> napisał(a):\n" + Q, "Dziękuję."),
    ("verbless_gmail_japanese", "了解しました。\n\n2026年11月16日(月) 10:00 Support Desk "
     "<support@help.example.com>:\n" + Q, "了解しました。"),
    ("mutt", "Ok.\n\n* Support Desk <support@help.example.com> [2026-11-16 10:00]:\n" + Q, "Ok."),
    ("lotus_notes_unprefixed", "OK.\n\nSupport Desk <support@help.example.com> wrote on "
     "16.11.2026 10:00:\n\nold unprefixed text", "OK."),
    ("zimbra", "Done.\n\n----- Original Message -----\nFrom: \"Support\" <support@help.example.com>"
     "\nTo: \"Tom\" <tom@acme.example.com>\nSent: Monday, November 16, 2026 10:00:00 AM\n"
     "Subject: Re: x\n\nold", "Done."),
    ("roundcube_ru", "Принято.\n\nSupport Desk писал 2026-11-16 10:00:\n" + Q, "Принято."),
    ("gmail_ru_forward_mixed_headers", "Посмотрите.\n\n---------- Пересылаемое сообщение "
     "---------\nОт: Vendor <v@vendor.example.com>\nDate: пн, 16 нояб. 2026 г. в 09:00\n"
     "Subject: Delay\nTo: <a@b.example>\n\nold", "Посмотрите."),
    ("outlook_mobile_ru", "Готово.\n\nПолучить Outlook для iOS<https://aka.ms/o0ukef>\n"
     "________________________________\nОт: Служба <s@help.example.com>\nОтправлено: 16 ноября "
     "2026 г. 10:00\nКому: Анна\nТема: Re: x\n\nold", "Готово."),
    ("mailru_plain_quoted_attribution", "Спасибо.\n \n>Понедельник, 16 ноября 2026, 10:00 +03:00 "
     "от Служба <s@help.example.com>:\n> \n>текст", "Спасибо."),
    # ---- nothing new is an empty answer (the caller stores the mail and says so); newlines
    ("only_quote_is_empty", "> just the quote\n> nothing new", ""),
    ("only_signature_is_empty", "-- \nJohn", ""),
    ("crlf", "Thanks!\r\n\r\nOn Mon, Nov 16, 2026 at 10:00 AM Support <s@help.example.com> "
     "wrote:\r\n> old\r\n", "Thanks!"),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in TEXT_CASES],
                         ids=[c[0] for c in TEXT_CASES])
def test_strip_quotes_text(text: str, expected: str) -> None:
    assert strip_quotes(text) == expected


def test_enough_cases() -> None:
    assert len(TEXT_CASES) >= 30


HTML_CASES = [
    # id, text part ("" for HTML-only mail), html, expected reply
    ("gmail_quote", "", '<div dir="ltr">Thanks!</div><br><div class="gmail_quote"><div '
     'class="gmail_attr">Am Mo., 16. Nov. 2026 um 10:00 Uhr schrieb X &lt;x@y.example&gt;:</div>'
     '<blockquote class="gmail_quote">old</blockquote></div>', "Thanks!"),
    ("outlook_divrplyfwdmsg", "", "<div>Done.</div><hr><div id=\"divRplyFwdMsg\"><b>From:</b> "
     "X</div><div>old</div>", "Done."),
    ("outlook_appendonsend", "", "<p>Ok</p><div id=\"appendonsend\"></div><hr><div>old</div>",
     "Ok"),
    ("thunderbird_bottom", "", '<div class="moz-cite-prefix">16.11.2026 10:00, X пишет:<br></div>'
     '<blockquote type="cite">old</blockquote><p>New text below.</p>', "New text below."),
    ("apple_blockquote_cite", "", "<div>Yes.</div><div><br><blockquote type=\"cite\"><div>On Nov "
     "16, 2026, at 10:00, X &lt;x@y.example&gt; wrote:</div><div>old</div></blockquote></div>",
     "Yes."),
    ("yandex_blockquote", "", "<div>Ок.</div><div>16.11.2026, 10:00, \"X\" &lt;x@y.example&gt;:"
     "</div><blockquote><div>old</div></blockquote>", "Ок."),
    ("yahoo_quoted", "", '<div>Fine.</div><div class="yahoo_quoted"><div>On Monday, X wrote:'
     "</div><div>old</div></div>", "Fine."),
    ("plain_wins_without_markers", "Plain reply.", "<div>HTML reply.</div>", "Plain reply."),
    ("markers_beat_plain", "Plain.\n\nunknown attribution style\nold text",
     '<div>Plain.</div><div class="gmail_quote">unknown attribution style<br>old text</div>',
     "Plain."),
    ("html_only_quote_is_empty", "", "<blockquote>old only</blockquote>", ""),
]


@pytest.mark.parametrize(("text", "html", "expected"), [c[1:] for c in HTML_CASES],
                         ids=[c[0] for c in HTML_CASES])
def test_strip_quotes_html(text: str, html: str, expected: str) -> None:
    assert strip_quotes(text, html) == expected


FIXTURES = [
    # file, expected reply from strip_quotes(mail.text, mail.html)
    ("quote_outlook_en.eml", "Hi team,\n\nThe VPN works again after the reboot, thank you!\n\n"
     "Best regards,\nJohn Smith\nACME Corp | +1 555 0100"),
    ("quote_outlook_ru.eml", "Спасибо, всё заработало.\n\nС уважением,\nАнна Сидорова\n"
     "отдел продаж"),
    ("quote_outlook_mobile_en.eml", "Works now!"),
    ("quote_gmail_en_wrapped.eml", "Thanks, the new password works.\n\nMaria"),
    ("quote_gmail_ru.eml", "Да, проблема повторилась сегодня утром.\nСкриншот пришлю отдельно."),
    ("quote_thunderbird_ru_bottom.eml",
     "Кабель подключён, лампочка горит зелёным. Печать всё равно не идёт."),
    ("quote_thebat_initials.eml",
     "Здравствуйте, Служба.\n\nМодель: Kyocera ECOSYS M2040dn.\n\nКабинет 214."),
    ("quote_apple_ru.eml", "Да, сегодня после 15:00 удобно."),
    ("quote_yandex.eml", "Добрый день! Счёт оплачен, платёжку прикладываю."),
    ("quote_mailru_html_only.eml", "Спасибо, получили. Ждём инженера в среду."),
    ("quote_html_outlook_divrplyfwdmsg.eml", "Done, the shared folder is visible now.\n\nLee"),
    ("quote_html_thunderbird_bottom.eml",
     "Пятерых: бухгалтерия и склад.\n\nДа, только к базе «Бухгалтерия»."),
    ("quote_forwarded_memo_ru.eml", "Коллеги, вот ответ поставщика. Что делать с заказом?"),
    ("quote_body_line_pishet.eml",
     "При запуске 1С программа пишет:\nОшибка СУБД: нет доступа к файлу базы.\n\nЧто делать?"),
    ("quote_interleaved_en.eml", "HP LaserJet M404.\n\nThird floor, room 301.\n\nThanks, Tom"),
    ("quote_de_schrieb.eml", "Danke, funktioniert wieder.\n\nViele Grüße\nHans"),
]


@pytest.mark.parametrize(("name", "expected"), FIXTURES)
def test_strip_quotes_on_fixtures(name: str, expected: str) -> None:
    mail = parse_mail((MAIL_DIR / name).read_bytes())
    assert strip_quotes(mail.text, mail.html) == expected


@pytest.mark.parametrize("name", sorted(p.name for p in MAIL_DIR.glob("*.eml")))
def test_new_text_of_every_fixture_with_text_above_its_quote(name: str) -> None:
    """Every stored mail written by a person has new text; only a quote-only reply is empty."""
    mail = parse_mail((MAIL_DIR / name).read_bytes())
    if mail.text.strip():
        assert strip_quotes(mail.text, mail.html).strip()
