"""Words of the realistic support mailbox (bench/mailbox.py): people, organisations, and what they write, in the
languages the mailbox uses. Plain data; the generator picks from it with its seeded random generator."""

from __future__ import annotations

FIRST_NAMES = [
    "Anna",
    "James",
    "Maria",
    "Robert",
    "Linda",
    "Michael",
    "Sarah",
    "David",
    "Laura",
    "Daniel",
    "Emma",
    "Thomas",
    "Olivia",
    "Peter",
    "Sophie",
    "Mark",
    "Julia",
    "Kevin",
    "Rachel",
    "Brian",
    "Hannah",
    "Steven",
    "Grace",
    "Paul",
    "Chloe",
    "Andrew",
    "Megan",
    "Simon",
    "Alice",
    "Martin",
    "Nina",
    "Oscar",
    "Ruth",
    "Victor",
]
LAST_NAMES = [
    "Smith",
    "Johnson",
    "Brown",
    "Taylor",
    "Wilson",
    "Davies",
    "Evans",
    "Thomas",
    "Roberts",
    "Walker",
    "Wright",
    "Thompson",
    "White",
    "Hughes",
    "Edwards",
    "Green",
    "Hall",
    "Wood",
    "Harris",
    "Clarke",
    "Jackson",
    "Turner",
    "Hill",
    "Moore",
    "Cooper",
    "Ward",
    "Morris",
    "King",
    "Baker",
    "Harrison",
    "Morgan",
    "Allen",
]
ORGANISATIONS = (
    ("Northwind Traders", "northwind-traders.com"),
    ("Contoso Logistics", "contoso-logistics.com"),
    ("Fabrikam Health", "fabrikam-health.org"),
    ("Tailspin Toys", "tailspintoys.co.uk"),
    ("Litware Labs", "litware.io"),
    ("Adventure Works", "adventure-works.net"),
    ("Proseware Legal", "proseware-legal.com"),
    ("Wide World Importers", "wideworldimporters.com"),
    ("Blue Yonder Airlines", "blueyonder-air.com"),
    ("Coho Vineyard", "cohovineyard.com"),
    ("Lucerne Publishing", "lucernepublishing.com"),
    ("Margie's Travel", "margiestravel.com"),
)
FREE_MAIL = ("gmail.com", "gmail.com", "googlemail.com")
APPLE_MAIL = ("icloud.com", "me.com", "mac.com")

# (subject, opening sentence, detail sentences); billing subjects route to the BIL project.
REQUESTS_EN = (
    (
        "Cannot log in to the customer portal",
        "Since this morning I cannot log in to the portal.",
        (
            "The page says my password is wrong although I reset it twice.",
            "Colleagues in the same office have the same problem.",
            "I tried Chrome and Firefox, cleared the cache and used a private window.",
        ),
    ),
    (
        "Invoice {n} shows the wrong amount",
        "The invoice we received this week does not match our order.",
        (
            "We ordered 12 licences but were billed for 20.",
            "Could you send a corrected invoice so that our accounts team can pay it before the end of the month?",
            "Our purchase order number is PO-{n}.",
        ),
    ),
    (
        "Export to CSV fails with error 500",
        "When I export the monthly report to CSV, the page shows error 500.",
        (
            "It worked last week. The report has about 40,000 rows.",
            "Smaller date ranges work, so it might be a timeout.",
            "I have attached a screenshot of the error page.",
        ),
    ),
    (
        "Request for a refund of order {n}",
        "We cancelled order {n} within the trial period.",
        (
            "Please refund the payment to the card we used.",
            "The cancellation confirmation is attached for reference.",
        ),
    ),
    (
        "VPN disconnects every few minutes",
        "Our VPN connection to your data centre drops every five to ten minutes.",
        (
            "It started after the maintenance window on Saturday.",
            "The client log shows 'peer not responding' right before each drop.",
            "This affects about thirty people who work from home.",
        ),
    ),
    (
        "New user accounts for our team",
        "We have four new colleagues starting on Monday.",
        (
            "Could you create accounts for them with the same permissions as mine?",
            "Their names and addresses are in the attached spreadsheet.",
        ),
    ),
    (
        "Printer queue stuck on the third floor",
        "Nothing prints on the third-floor printer since yesterday.",
        (
            "Jobs stay in the queue with the status 'spooling'.",
            "Restarting the printer did not help.",
        ),
    ),
    (
        "API returns 429 Too Many Requests",
        "Our integration gets HTTP 429 responses from the orders endpoint.",
        (
            "We send fewer than ten requests per minute, well below the documented limit.",
            "The request IDs of two failed calls are in the log excerpt below.",
            "Is there a problem with the rate limiter on your side?",
        ),
    ),
    (
        "Question about the payment terms",
        "Our finance department asked whether we can switch to yearly billing.",
        (
            "Would the discount apply retroactively to this year's invoices?",
            "Please also confirm the bank details for wire transfers.",
        ),
    ),
    (
        "Mobile app crashes on start",
        "The mobile app closes right after the splash screen.",
        (
            "This happens on two Android phones since the last update.",
            "Reinstalling the app did not help.",
            "Phone models: Pixel 7 and Galaxy S22, both up to date.",
        ),
    ),
    (
        "Data import stuck at 99%",
        "The import of our product catalogue has been at 99% for three hours.",
        (
            "The file has 12,000 lines and passed the validation step.",
            "Can you check whether the job is still running?",
        ),
    ),
    (
        "Please change the billing address",
        "We moved offices and our billing address has changed.",
        (
            "The new address is in my signature below.",
            "Please use it for the next invoice and update our account.",
        ),
    ),
)
REPLIES_EN = (
    "Thank you for the quick answer. I tried what you suggested, but the problem is still there.",
    "Any update on this? It is blocking several people on our side.",
    "Please find the requested log files attached.",
    "That fixed it, thank you very much! You can close the ticket.",
    "Sorry, I forgot to mention that we use the on-premises version 4.2.",
    "One more detail: the error only happens for users in the Berlin office.",
    "I can confirm that it works again since about 10:30.",
    "Could you call me tomorrow morning? My number is in the signature.",
    "We still have not received the corrected invoice. Could you check again?",
    "Never mind the last message, a colleague found the cause.",
)
GREETINGS_EN = ("Hello,", "Hi,", "Hi team,", "Good morning,", "Dear support team,", "Hello support,")
SIGNOFFS_EN = ("Best regards,", "Kind regards,", "Thanks,", "Many thanks,", "Regards,", "Cheers,")

REQUESTS_DE = (
    (
        "Anmeldung am Kundenportal nicht möglich",
        "Seit heute früh kann ich mich nicht mehr am Portal anmelden.",
        (
            "Die Seite meldet ein falsches Passwort, obwohl ich es zweimal zurückgesetzt habe.",
            "Kollegen im selben Büro haben dasselbe Problem.",
        ),
    ),
    (
        "Rechnung {n} mit falschem Betrag",
        "Die Rechnung dieser Woche passt nicht zu unserer Bestellung.",
        (
            "Wir haben 12 Lizenzen bestellt, berechnet wurden aber 20.",
            "Bitte senden Sie uns eine korrigierte Rechnung zu, damit unsere Buchhaltung sie prüfen kann.",
        ),
    ),
)
REPLIES_DE = (
    "Vielen Dank für die schnelle Antwort. Leider besteht das Problem weiterhin.",
    "Gibt es hierzu schon Neuigkeiten? Mehrere Kollegen können nicht arbeiten.",
    "Anbei die gewünschten Protokolldateien.",
)
REQUESTS_FR = (
    (
        "Impossible de me connecter au portail",
        "Depuis ce matin, je ne peux plus me connecter au portail.",
        (
            "Le message indique que le mot de passe est erroné, alors que je l'ai réinitialisé deux fois.",
            "Mes collègues du même bureau rencontrent le même problème.",
        ),
    ),
    (
        "Facture {n} : montant erroné",
        "La facture reçue cette semaine ne correspond pas à notre commande.",
        (
            "Nous avons commandé 12 licences mais 20 ont été facturées.",
            "Pourriez-vous nous envoyer une facture corrigée ? Merci d'avance.",
        ),
    ),
)
REPLIES_FR = (
    "Merci pour votre réponse rapide. Malheureusement, le problème persiste.",
    "Avez-vous du nouveau ? Plusieurs collègues sont bloqués.",
    "Veuillez trouver ci-joint les fichiers journaux demandés.",
)
REQUESTS_JA = (
    (
        "ポータルにログインできません",
        "今朝からポータルにログインできなくなりました。",
        (
            "パスワードを二回リセットしましたが、パスワードが違うと表示されます。",
            "同じ事務所の同僚も同じ問題が発生しています。",
        ),
    ),
    (
        "請求書{n}の金額について",
        "今週受け取った請求書の金額が注文内容と一致しません。",
        (
            "ライセンスを十二本注文しましたが、二十本分請求されています。",
            "訂正した請求書をお送りいただけますでしょうか。",
        ),
    ),
)
REPLIES_JA = (
    "早速のご回答ありがとうございます。残念ながら問題はまだ解決していません。",
    "その後の状況はいかがでしょうか。",
    "ご依頼のログファイルを添付いたします。",
)

# Per language: requests, replies, greeting, sign-off, reply prefix, Outlook header labels, attribution template.
LANGUAGES = {
    "en": {
        "requests": REQUESTS_EN,
        "replies": REPLIES_EN,
        "greetings": GREETINGS_EN,
        "signoffs": SIGNOFFS_EN,
        "re": "RE:",
        "labels": ("From", "Sent", "To", "Subject"),
        "wrote": "wrote",
    },
    "de": {
        "requests": REQUESTS_DE,
        "replies": REPLIES_DE,
        "greetings": ("Hallo,", "Guten Tag,", "Sehr geehrte Damen und Herren,"),
        "signoffs": ("Mit freundlichen Grüßen", "Viele Grüße", "Beste Grüße"),
        "re": "AW:",
        "labels": ("Von", "Gesendet", "An", "Betreff"),
        "wrote": "schrieb",
    },
    "fr": {
        "requests": REQUESTS_FR,
        "replies": REPLIES_FR,
        "greetings": ("Bonjour,", "Madame, Monsieur,"),
        "signoffs": ("Cordialement,", "Bien cordialement,"),
        "re": "RE :",
        "labels": ("De", "Envoyé", "À", "Objet"),
        "wrote": "a écrit",
    },
    "ja": {
        "requests": REQUESTS_JA,
        "replies": REPLIES_JA,
        "greetings": ("お世話になっております。",),
        "signoffs": ("よろしくお願いいたします。",),
        "re": "RE:",
        "labels": ("差出人", "送信日時", "宛先", "件名"),
        "wrote": "wrote",
    },
}

NEWSLETTERS = (
    ("Your weekly product digest", "news@digest.saasweekly.com", "saasweekly.list-id.saasweekly.com"),
    (
        "[ops-announce] Planned maintenance on Sunday",
        "ops-announce@lists.hosting-partner.net",
        "ops-announce.lists.hosting-partner.net",
    ),
    ("Webinar: what is new in release 5", "events@mailer.vendor-events.com", "events.vendor-events.com"),
)
