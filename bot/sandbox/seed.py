"""Deterministic demo data: a small but awkward CRM (accents, Japanese, ``&``/``<``, Slack
mention syntax, 5,000-character texts, inactive customers, converted leads).

The same rows come out on every run, so tests may rely on them (see DEMO_FACTS).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from dataclasses import dataclass

from bot.sandbox.phpish import PASSWORD_HASH_PREFIX, password_hash_like, php_serialize_flags
from bot.sandbox.schema import PROJECT_SETTINGS_DEFAULTS, PROJECT_TABS, Row

SEED_NOW = dt.datetime(2024, 5, 20, 9, 30, 0)

# Ids a fresh PMP install (plus this demo's additions) uses; see pmp-api-behaviour.md.
DEPARTMENTS = {1: "Support", 2: "Sales", 3: "Billing"}
TICKET_PRIORITIES = {1: "Low", 2: "Medium", 3: "High"}
TICKET_STATUSES = {1: "Open", 2: "In progress", 3: "Answered", 4: "On Hold", 5: "Closed"}
TICKET_SERVICES = {1: "Hosting", 2: "Web Design", 3: "Consulting"}
LEAD_STATUSES = {1: "Customer", 2: "New", 3: "Contacted", 4: "Qualified", 5: "Proposal Sent"}
LEAD_SOURCES = {1: "Google", 2: "Facebook", 3: "Referral", 4: "Website", 5: "Trade Show"}
PROJECT_STATUSES = {1: "Not Started", 2: "In Progress", 3: "On Hold", 4: "Finished", 5: "Cancelled"}
BILLING_TYPES = {1: "Fixed Rate", 2: "Project Hours", 3: "Task Hours"}
CUSTOMER_GROUPS = {1: "VIP", 2: "Wholesale", 3: "Retail", 4: "Partner"}
STAFF = {
    1: ("Admin", "User", "admin@pmp.example"),
    2: ("Maria", "Garcia", "maria.garcia@pmp.example"),
    3: ("Tom", "Becker", "tom.becker@pmp.example"),
    4: ("Aiko", "Tanaka", "aiko.tanaka@pmp.example"),
    5: ("Liam", "O'Brien", "liam.obrien@pmp.example"),
    # E-mails of the console's Slack stand-in people (@alex, @sam), so mapping a Slack user
    # to a PMP staff member by e-mail can be shown there.
    6: ("Alex", "Ortega", "alex@example.com"),
    7: ("Sam", "Morgan", "sam@example.com"),
    # Left the company: still in the staff list and searches, switched off.
    8: ("Pat", "Keller", "pat.keller@pmp.example"),
}
INACTIVE_STAFF_IDS = (8,)


# The departments' IMAP logins (Perfex keeps them on the department; ticket rows show them).
IMAP_HOST = "imap.example.com"
IMAP_PASSWORDS = {key: f"Imap-{name}-Pa55w0rd!" for key, name in DEPARTMENTS.items()}
# Project settings that differ from Perfex's defaults: project id -> changed settings, and
# tabs hidden from the customer.
_PROJECT_SETTINGS_OFF: dict[int, tuple[str, ...]] = {
    2: ("view_finance_overview", "upload_files", "open_discussions"),
    3: ("view_gantt",),
    4: ("create_tasks", "edit_tasks"),
    5: ("view_team_members",),
    8: ("create_tasks", "edit_tasks"),
    12: ("create_tasks", "edit_tasks", "view_timesheets"),
}
_PROJECT_TABS_OFF: dict[int, tuple[str, ...]] = {
    3: ("project_invoices", "project_expenses", "project_credit_notes"),
    6: ("project_gantt", "project_timesheets"),
}
_PROJECT_SETTINGS_ON: dict[int, tuple[str, ...]] = {5: ("hide_tasks_on_main_tasks_table",)}
# Attachments: kind -> (record id, file name, MIME type, days ago).
_FILES: dict[str, tuple[tuple[int, str, str, int], ...]] = {
    "leads": (
        (1, "signed-contract.pdf", "application/pdf", 30),
        (2, "business-card.jpg", "image/jpeg", 60),
        (5, "requirements.docx", "application/msword", 15),
    ),
    "projects": (
        (1, "wireframes-v2.pdf", "application/pdf", 20),
        (3, "app-icon.png", "image/png", 12),
    ),
    "tickets": (
        (1, "login-error.png", "image/png", 110),
        (4, "invoice-1041.pdf", "application/pdf", 100),
    ),
}


@dataclass(frozen=True)
class DemoFacts:
    """Landmarks in the demo data, for tests and demos."""

    acme_customer_id: int = 1  # "Acme Corporation": has invoices, so it cannot be deleted
    inactive_customer_ids: tuple[int, ...] = (4, 36)
    customer_count: int = 36
    lead_count: int = 25
    converted_lead_ids: tuple[int, ...] = (3, 9, 15, 21)
    project_count: int = 15
    ticket_count: int = 40
    channel_ticket_id: int = 7  # subject contains "<!channel>", message "<@U123>"
    long_text_length: int = 5000
    # Record #1 of each kind has a file: a lead, project or ticket PUT deletes them.
    first_lead_file: str = "signed-contract.pdf"
    first_project_file: str = "wireframes-v2.pdf"
    first_ticket_file: str = "login-error.png"
    # Every 4th milestone is hidden from the customer; every 5th has no start date.
    hidden_milestone_ids: tuple[int, ...] = tuple(range(4, 48, 4))
    milestones_without_start_date: tuple[int, ...] = tuple(range(5, 48, 5))
    # Staff: ids 1-5 are assigned to tickets and leads and are project members; 6 and 7
    # carry the console's Slack e-mails; 8 is switched off.
    staff_count: int = len(STAFF)
    console_staff: tuple[tuple[int, str], ...] = ((6, "alex@example.com"), (7, "sam@example.com"))
    inactive_staff_ids: tuple[int, ...] = INACTIVE_STAFF_IDS
    # Secrets PMP hands out: department IMAP passwords (ticket rows), contact password hashes
    # (contact rows) and staff password hashes (staff rows).
    imap_passwords: tuple[str, ...] = tuple(IMAP_PASSWORDS.values())
    password_hash_prefix: str = PASSWORD_HASH_PREFIX


DEMO_FACTS = DemoFacts()


def _stamp(days_ago: float) -> str:
    return (SEED_NOW - dt.timedelta(days=days_ago)).strftime("%Y-%m-%d %H:%M:%S")


def _day(days_from_now: int) -> str:
    return (SEED_NOW.date() + dt.timedelta(days=days_from_now)).isoformat()


def long_text(topic: str, length: int = DEMO_FACTS.long_text_length) -> str:
    """A readable text of exactly ``length`` characters."""
    sentences = (
        f"This note about {topic} collects everything agreed so far.",
        "Scope, budget and deadlines were reviewed with the customer in detail.",
        "Open questions are listed at the end and owners are named for each one.",
        "Please keep replies short and mention the ticket number in the subject.",
        "Attachments from the last meeting are stored in the project files.",
    )
    words: list[str] = []
    position = 0
    while sum(len(word) + 1 for word in words) < length:
        words.append(sentences[position % len(sentences)])
        position += 1
    return " ".join(words)[:length]


def reference_rows() -> dict[str, list[Row]]:
    """What a fresh install already has: departments, statuses, staff, groups."""
    return {
        "departments": [
            {
                "departmentid": str(key),
                "name": name,
                "email": f"{name.lower()}@pmp.example",
                "host": IMAP_HOST,
                "imap_username": f"{name.lower()}@pmp.example",
                "password": IMAP_PASSWORDS[key],
                "encryption": "tls",
                "folder": "INBOX",
            }
            for key, name in DEPARTMENTS.items()
        ],
        "tickets_status": [
            {
                "ticketstatusid": str(key),
                "name": name,
                "isdefault": "1",
                "statuscolor": color,
                "statusorder": str(key),
            }
            for (key, name), color in zip(
                TICKET_STATUSES.items(),
                ("#ff2d42", "#22c55e", "#2563eb", "#64748b", "#03a9f4"),
                strict=True,
            )
        ],
        "tickets_priorities": [
            {"priorityid": str(key), "name": name} for key, name in TICKET_PRIORITIES.items()
        ],
        "services": [
            {"serviceid": str(key), "name": name} for key, name in TICKET_SERVICES.items()
        ],
        "leads_status": [
            {
                "id": str(key),
                "name": name,
                "statusorder": "1000" if key == 1 else str(key - 1),
                "color": color,
                "isdefault": "1" if key == 1 else "0",
            }
            for (key, name), color in zip(
                LEAD_STATUSES.items(),
                ("#7cb342", "#03a9f4", "#ff6f00", "#9c27b0", "#607d8b"),
                strict=True,
            )
        ],
        "leads_sources": [{"id": str(key), "name": name} for key, name in LEAD_SOURCES.items()],
        "customers_groups": [
            {"id": str(key), "name": name} for key, name in CUSTOMER_GROUPS.items()
        ],
        "staff": [
            {
                "staffid": str(key),
                "firstname": first,
                "lastname": last,
                "email": email,
                "password": password_hash_like(email),
                "datecreated": _stamp(900 - key),
                "admin": "1" if key == 1 else "0",
                "role": "1",
                "active": "0" if key in INACTIVE_STAFF_IDS else "1",
                "last_login": _stamp(key / 3) if key not in INACTIVE_STAFF_IDS else _stamp(400),
                "last_activity": _stamp(key / 4) if key not in INACTIVE_STAFF_IDS else _stamp(400),
                "default_language": "english",
                "phonenumber": f"+1 555 010{key}",
                "media_path_slug": f"{first}-{last}".lower().replace("'", ""),
            }
            for key, (first, last, email) in STAFF.items()
        ],
    }


# company, city, state, zip, country, language, groups, contacts (first, last, title)
_CUSTOMERS: tuple[
    tuple[str, str, str, str, int, str, tuple[int, ...], tuple[tuple[str, str, str], ...]], ...
] = (
    (
        "Acme Corporation",
        "New York",
        "NY",
        "10001",
        236,
        "english",
        (1, 4),
        (
            ("Jane", "Doe", "Operations Director"),
            ("John", "Smith", "Accountant"),
            ("Wile", "Coyote", "Engineer"),
        ),
    ),
    (
        "Acme Widgets Ltd",
        "Manchester",
        "Greater Manchester",
        "M1 1AE",
        235,
        "english",
        (2,),
        (("Oliver", "Brown", "Managing Director"),),
    ),
    (
        "Acme Supplies Inc.",
        "Denver",
        "CO",
        "80202",
        236,
        "english",
        (2, 3),
        (("Emma", "Wilson", "Buyer"), ("Noah", "Taylor", "Logistics")),
    ),
    (
        "Acme Legacy Holdings",
        "Boston",
        "MA",
        "02108",
        236,
        "english",
        (),
        (("Harold", "Finch", "Owner"),),
    ),
    (
        "Müller & Söhne GmbH",
        "Stuttgart",
        "Baden-Württemberg",
        "70173",
        83,
        "german",
        (1,),
        (("Jürgen", "Müller", "Geschäftsführer"), ("Anke", "Schröder", "Einkauf")),
    ),
    (
        "Łódź Creative Studio",
        "Łódź",
        "Łódzkie",
        "90-001",
        177,
        "polish",
        (4,),
        (("Zoë", "Łukasiewicz", "Art Director"),),
    ),
    (
        "株式会社サクラ技研",
        "大阪市",
        "大阪府",
        "530-0001",
        109,
        "japanese",
        (),
        (("太郎", "田中", "部長"), ("Yuki", "Sato", "Engineer")),
    ),
    (
        "Bits & Bytes <Dev> Co.",
        "Austin",
        "TX",
        "73301",
        236,
        "english",
        (3,),
        (("Priya", "Patel", "CTO"), ("Marco", "Rossi", "Developer")),
    ),
    (
        "Less < More Design",
        "Amsterdam",
        "Noord-Holland",
        "1012 AB",
        155,
        "dutch",
        (),
        (("Sanne", "de Vries", "Designer"),),
    ),
    (
        "Café Olé SARL",
        "Lyon",
        "Auvergne-Rhône-Alpes",
        "69001",
        75,
        "french",
        (3,),
        (("Amélie", "Dubois", "Gérante"), ("Loïc", "Martin", "Chef")),
    ),
    (
        "Northwind Traders",
        "Seattle",
        "WA",
        "98101",
        236,
        "english",
        (2,),
        (("Nancy", "Davolio", "Sales Representative"), ("Andrew", "Fuller", "VP Sales")),
    ),
    (
        "Contoso Pharmaceuticals",
        "Basel",
        "Basel-Stadt",
        "4051",
        215,
        "german",
        (1,),
        (("Lena", "Keller", "Procurement"),),
    ),
    (
        "Fabrikam Inc.",
        "Toronto",
        "ON",
        "M5H 2N2",
        38,
        "english",
        (),
        (("Ethan", "Roy", "IT Manager"), ("Chloé", "Tremblay", "Office Manager")),
    ),
    (
        "Tailspin Toys",
        "Portland",
        "OR",
        "97201",
        236,
        "english",
        (3,),
        (("Mia", "Johnson", "Owner"),),
    ),
    (
        "Wingtip Outfitters",
        "Denver",
        "CO",
        "80203",
        236,
        "english",
        (3,),
        (("Lucas", "Miller", "Store Manager"),),
    ),
    (
        "Blue Yonder Airlines",
        "Dublin",
        "Leinster",
        "D02 XY45",
        103,
        "english",
        (1,),
        (("Aoife", "Murphy", "Head of IT"), ("Sean", "Kelly", "Analyst")),
    ),
    (
        "Adventure Works Cycles",
        "Bothell",
        "WA",
        "98011",
        236,
        "english",
        (2,),
        (("Grace", "Lee", "Purchasing"),),
    ),
    (
        "Litware Software",
        "Austin",
        "TX",
        "73301",
        236,
        "english",
        (4,),
        (("Daniel", "Kim", "Founder"),),
    ),
    (
        "Proseware Inc.",
        "Chicago",
        "IL",
        "60601",
        236,
        "english",
        (),
        (("Olivia", "Martinez", "Marketing Lead"), ("James", "Anderson", "CFO")),
    ),
    (
        "Woodgrove Bank",
        "London",
        "Greater London",
        "EC2V 7HH",
        235,
        "english",
        (1,),
        (("Charlotte", "Evans", "Vendor Manager"),),
    ),
    (
        "Lucerne Publishing",
        "Lucerne",
        "Luzern",
        "6003",
        215,
        "german",
        (),
        (("Felix", "Huber", "Editor"),),
    ),
    (
        "Margie's Travel",
        "San Diego",
        "CA",
        "92101",
        236,
        "english",
        (3,),
        (("Margie", "Lopez", "Owner"),),
    ),
    (
        "O'Brien & Daughters Hardware",
        "Cork",
        "Munster",
        "T12 R2NC",
        103,
        "english",
        (3,),
        (("Siobhan", "O'Brien", "Owner"), ("Niamh", "O'Brien", "Accounts")),
    ),
    (
        "Coho Winery",
        "Napa",
        "CA",
        "94559",
        236,
        "english",
        (2,),
        (("Isabella", "Garcia", "Winemaker"),),
    ),
    (
        "Alpine Ski House",
        "Innsbruck",
        "Tirol",
        "6020",
        14,
        "german",
        (),
        (("Lukas", "Gruber", "Manager"), ("Anna", "Wimmer", "Reception")),
    ),
    (
        "Fourth Coffee",
        "Melbourne",
        "VIC",
        "3000",
        13,
        "english",
        (3,),
        (("Jack", "Wilson", "Owner"),),
    ),
    (
        "Graphic Design Institute",
        "Madrid",
        "Madrid",
        "28013",
        205,
        "spanish",
        (4,),
        (("Lucía", "Fernández", "Directora"),),
    ),
    (
        "Humongous Insurance",
        "Hartford",
        "CT",
        "06103",
        236,
        "english",
        (1,),
        (("Robert", "Clark", "Claims Manager"), ("Linda", "Lewis", "IT Director")),
    ),
    (
        "Trey Research",
        "Cambridge",
        "Cambridgeshire",
        "CB2 1TN",
        235,
        "english",
        (4,),
        (("Sophie", "Walker", "Research Lead"),),
    ),
    (
        "Wide World Importers",
        "Rotterdam",
        "Zuid-Holland",
        "3011 AA",
        155,
        "dutch",
        (2,),
        (("Daan", "Bakker", "Import Manager"), ("Emma", "Visser", "Finance")),
    ),
    (
        "Southridge Video",
        "Vancouver",
        "BC",
        "V6B 1A1",
        38,
        "english",
        (),
        (("Ava", "Thompson", "Producer"),),
    ),
    (
        "City Power & Light",
        "Cleveland",
        "OH",
        "44113",
        236,
        "english",
        (1,),
        (("William", "Harris", "Facilities"), ("Emily", "Young", "Procurement")),
    ),
    (
        "Nod Publishers",
        "Edinburgh",
        "Scotland",
        "EH1 1YZ",
        235,
        "english",
        (),
        (("Isla", "Campbell", "Publisher"),),
    ),
    (
        "Relecloud",
        "Oslo",
        "Oslo",
        "0150",
        160,
        "norwegian",
        (4,),
        (("Ingrid", "Hansen", "CEO"), ("Ola", "Nordmann", "Support")),
    ),
    (
        "A. Datum Corporation",
        "Tokyo",
        "東京都",
        "100-0001",
        109,
        "japanese",
        (1,),
        (("Hiroshi", "Yamamoto", "General Manager"),),
    ),
    (
        "Dormant Dynamics Ltd",
        "Leeds",
        "West Yorkshire",
        "LS1 1UR",
        235,
        "english",
        (),
        (("Gary", "Stone", "Former Director"),),
    ),
)


def _email(first: str, last: str, company: str) -> str:
    ascii_company = "".join(ch for ch in company.lower() if ch.isascii() and ch.isalnum())
    domain = (ascii_company or "sakura-giken")[:18] + ".example"
    local = "".join(
        ch for ch in f"{first}.{last}".lower() if ch.isascii() and (ch.isalnum() or ch == ".")
    )
    return f"{local.strip('.') or 'info'}@{domain}"


def _customer_rows(rng: random.Random) -> tuple[list[Row], list[Row], list[Row]]:
    customers: list[Row] = []
    contacts: list[Row] = []
    groups: list[Row] = []
    contact_id = 0
    for index, (company, city, state, zip_code, country, language, group_ids, people) in enumerate(
        _CUSTOMERS, start=1
    ):
        created = _stamp(700 - index * 11)
        active = "0" if index in DEMO_FACTS.inactive_customer_ids else "1"
        phone = f"+{rng.randint(1, 49)} {rng.randint(100, 999)} {rng.randint(1000000, 9999999)}"
        street = f"{rng.randint(1, 250)} {rng.choice(('High Street', 'Main St', 'Market Road', 'Harbour Way'))}"  # noqa: E501
        customers.append(
            {
                "userid": str(index),
                "company": company,
                "vat": f"VAT{rng.randint(10000000, 99999999)}" if index % 3 else "",
                "phonenumber": phone,
                "country": str(country),
                "city": city,
                "zip": zip_code,
                "state": state,
                "address": street,
                "website": "https://www."
                + _email("w", "w", company).split("@")[1].replace(".example", ".example.com"),
                "datecreated": created,
                "active": active,
                "leadid": None,
                "billing_street": street,
                "billing_city": city,
                "billing_state": state,
                "billing_zip": zip_code,
                "billing_country": str(country),
                "shipping_street": street if index % 2 else "",
                "shipping_city": city if index % 2 else "",
                "shipping_state": state if index % 2 else "",
                "shipping_zip": zip_code if index % 2 else "",
                "shipping_country": str(country) if index % 2 else "0",
                "default_language": language,
                "default_currency": "1" if country == 236 else "2",
                "show_primary_contact": "0",
                "registration_confirmed": "1",
                "addedfrom": str(1 + index % 5),
            }
        )
        for group_id in group_ids:
            groups.append({"groupid": str(group_id), "customer_id": str(index)})
        for position, (first, last, title) in enumerate(people):
            contact_id += 1
            email = _email(first, last, company)
            contacts.append(
                {
                    "id": str(contact_id),
                    "userid": str(index),
                    "is_primary": "1" if position == 0 else "0",
                    "firstname": first,
                    "lastname": last,
                    "email": email,
                    "phonenumber": f"+{rng.randint(1, 49)} {rng.randint(100, 999)} {rng.randint(1000000, 9999999)}",  # noqa: E501
                    "title": title,
                    "datecreated": created,
                    "password": password_hash_like(email),
                    # The third contact of a company has left: inactive, hidden from lists.
                    "active": "0" if position == 2 else "1",
                    "direction": None,
                }
            )
    return customers, contacts, groups


# name, company, title, city, country, status, source, assigned, converted customer, lost
_LEADS: tuple[tuple[str, str, str, str, int, int, int, int, int, bool], ...] = (
    ("Sarah Connor", "Cyberdyne Systems", "CTO", "Los Angeles", 236, 2, 1, 2, 0, False),
    ("Kyle Reese", "Tech Noir", "Owner", "Los Angeles", 236, 3, 2, 3, 0, False),
    ("Hannah Scott", "Globex International", "Buyer", "Springfield", 236, 1, 3, 2, 11, False),
    ("José Álvarez", "Álvarez Hermanos S.L.", "Gerente", "Sevilla", 205, 4, 4, 4, 0, False),
    ("佐藤 花子", "花子デザイン", "代表", "京都市", 109, 2, 4, 4, 0, False),
    ("Broadcast Team", "Broadcast <!channel> Media", "Producer", "Atlanta", 236, 3, 5, 5, 0, False),
    ("Peter Gibbons", "Initech LLC", "Engineer", "Austin", 236, 2, 1, 3, 0, True),
    ("Liz Lemon", "TGS Productions", "Head Writer", "New York", 236, 5, 3, 2, 0, False),
    ("Zoë Łukasiewicz", "Łódź Creative Studio", "Art Director", "Łódź", 177, 1, 2, 4, 6, False),
    ("Tom Acme", "Acme Rockets", "Founder", "Phoenix", 236, 2, 1, 5, 0, False),
    ("Greta Lindqvist", "Nordic Timber AB", "CEO", "Uppsala", 210, 3, 5, 3, 0, False),
    ("Ravi Kumar", "Kumar & Partners", "Partner", "Bengaluru", 101, 4, 3, 2, 0, False),
    ("Fatima Zahra", "Atlas Logistics", "COO", "Casablanca", 148, 2, 4, 5, 0, False),
    ("Chen Wei", "Dragon Gate Trading", "Director", "Shanghai", 44, 5, 1, 4, 0, False),
    (
        "Maria Garcia",
        "Northwind Traders",
        "Sales Representative",
        "Seattle",
        236,
        1,
        5,
        3,
        11,
        False,
    ),
    ("Olu Adeyemi", "Lagos Fintech Hub", "Founder", "Lagos", 158, 3, 2, 2, 0, False),
    ("Ivan Petrov", "Baltic Shipping OÜ", "Manager", "Tallinn", 68, 2, 4, 3, 0, True),
    ("Lucy Heartfilia", "Fairy Tail Guild", "Mage", "Magnolia", 236, 4, 2, 5, 0, False),
    ("Ahmed Hassan", "Nile Solar", "Engineer", "Cairo", 64, 2, 1, 4, 0, False),
    ("Julia Nowak", "Kraków Apps", "PM", "Kraków", 177, 3, 4, 2, 0, False),
    ("Ben Carter", "Fourth Coffee", "Owner", "Melbourne", 13, 1, 3, 3, 26, False),
    ("Ana Souza", "Rio Digital", "CMO", "Rio de Janeiro", 31, 5, 5, 4, 0, False),
    ("Mark O'Neil", "O'Neil <Consulting> & Co", "Consultant", "Galway", 103, 2, 3, 5, 0, False),
    ("Sven Larsen", "Fjord Fisheries", "Owner", "Bergen", 160, 4, 1, 2, 0, False),
    ("Nina Simone", "Blue Note Events", "Booker", "Paris", 75, 3, 2, 3, 0, False),
)


def _lead_rows(rng: random.Random) -> tuple[list[Row], list[tuple[str, str, list[str]]]]:
    leads: list[Row] = []
    tags: list[tuple[str, str, list[str]]] = []
    for index, (
        name,
        company,
        title,
        city,
        country,
        status,
        source,
        assigned,
        client,
        lost,
    ) in enumerate(_LEADS, start=1):
        description = f"Met at {LEAD_SOURCES[source]}; interested in a quote."
        if index == 6:
            description = "Asked us to announce it: <!channel> and to ping <@U123> about pricing."
        elif index == 12:
            description = long_text(f"{company} requirements")
        added = 400 - index * 13
        first = name.split()[0]
        email_company = company.split(" ")[0]
        leads.append(
            {
                "id": str(index),
                "hash": hashlib.md5(f"lead-{index}".encode()).hexdigest()
                + "-"
                + hashlib.md5(f"lead-public-{index}".encode()).hexdigest(),
                "name": name,
                "contact": "",
                "title": title,
                "company": company,
                "description": description,
                "country": str(country),
                "zip": str(rng.randint(10000, 99999)),
                "city": city,
                "state": "",
                "address": f"{rng.randint(1, 200)} Commerce Street",
                "assigned": str(assigned),
                "dateadded": _stamp(added),
                "from_form_id": "0",
                "status": str(status),
                "source": str(source),
                "lastcontact": _stamp(added - rng.randint(1, 10)),
                "dateassigned": _day(-added),
                "last_status_change": _stamp(added - 3),
                "addedfrom": str(assigned),
                "email": _email(first, "lead", email_company),
                "website": "",
                "leadorder": str(index),
                "phonenumber": f"+{rng.randint(1, 49)} {rng.randint(1000000, 9999999)}",
                "date_converted": _stamp(added - 20) if client else None,
                "lost": "1" if lost else "0",
                "junk": "0",
                "last_lead_status": "0",
                "is_public": "1" if index % 4 == 0 else "0",
                "default_language": "english",
                "client_id": str(client),
                "lead_value": f"{rng.randint(5, 120) * 500}.00",
            }
        )
        if index % 5 == 0:
            tags.append(("lead", str(index), ["hot", "q3"]))
    return leads, tags


# name, customer, status, billing type, start offset, deadline offset, milestone names
_PROJECTS: tuple[tuple[str, int, int, int, int, int | None, tuple[str, ...]], ...] = (
    ("Website Redesign", 1, 2, 1, -120, 40, ("Discovery", "Design", "Build", "Launch")),
    ("ERP Migration", 1, 1, 2, 15, 200, ("Assessment", "Data mapping", "Cut-over")),
    ("Mobile App MVP", 8, 2, 3, -60, 30, ("Prototype", "Beta", "Store release")),
    ("SEO Audit 2024", 2, 4, 1, -200, -150, ("Crawl", "Report")),
    ("Produktkatalog für Müller & Söhne", 5, 2, 1, -30, 90, ("Konzept", "Fotos", "Druck")),
    ("サクラ技研 Web Portal", 7, 3, 2, -90, None, ("要件定義", "設計", "開発", "テスト")),
    ("Cloud Hosting Setup", 11, 2, 2, -45, 15, ("Provisioning", "Migration", "Monitoring")),
    ("Security Review", 20, 1, 3, 30, 75, ("Scoping", "Testing", "Report", "Retest")),
    ("CRM Integration", 3, 5, 1, -150, -60, ("Requirements", "Connector")),
    ("Annual Maintenance", 28, 2, 2, -300, 65, ("Q1", "Q2", "Q3", "Q4", "Renewal")),
    ("Onboarding Portal", 16, 2, 3, -20, 120, ("Wireframes", "Content", "Launch")),
    ("E-commerce Launch", 10, 4, 1, -240, -100, ("Shop setup", "Payments", "Go-live")),
    ("Logistics Dashboard", 30, 2, 2, -75, 45, ("Data sources", "Dashboards", "Training")),
    ("Intranet Upgrade", 32, 3, 1, -110, 10, ("Audit", "Upgrade")),
    ("Brand Refresh <2024> & Beyond", 9, 1, 1, 10, 70, ("Mood boards", "Logo", "Guidelines")),
)


def _project_rows(
    rng: random.Random,
) -> tuple[list[Row], list[Row], list[Row], list[Row], list[tuple[str, str, list[str]]]]:
    projects: list[Row] = []
    milestones: list[Row] = []
    tasks: list[Row] = []
    members: list[Row] = []
    tags: list[tuple[str, str, list[str]]] = []
    milestone_id = 0
    task_id = 0
    for index, (name, customer, status, billing, start, deadline, milestone_names) in enumerate(
        _PROJECTS, start=1
    ):
        cost = f"{rng.randint(4, 60) * 500}.00" if billing == 1 else "0.00"
        rate = f"{rng.choice((65, 80, 95, 120))}.00" if billing == 2 else "0.00"
        description = f"<p>{name} for {_CUSTOMERS[customer - 1][0]}.</p>"
        if index == 10:
            description = long_text(name)
        projects.append(
            {
                "id": str(index),
                "name": name,
                "description": description,
                "status": str(status),
                "clientid": str(customer),
                "billing_type": str(billing),
                "start_date": _day(start),
                "deadline": _day(deadline) if deadline is not None else None,
                "project_created": _day(start - 7),
                "date_finished": _stamp(-deadline) if status == 4 and deadline else None,
                "progress": str(rng.randint(0, 100)) if status != 1 else "0",
                "progress_from_tasks": "1" if index % 3 else "0",
                "project_cost": cost,
                "project_rate_per_hour": rate,
                "estimated_hours": f"{rng.randint(20, 400)}.00",
                "addedfrom": "1",
                "contact_notification": "1",
                "notify_contacts": "a:0:{}",
            }
        )
        for staff_id in sorted(rng.sample(sorted(STAFF), 2)):
            members.append({"project_id": str(index), "staff_id": str(staff_id)})
        if index % 4 == 1:
            tags.append(("project", str(index), ["priority", "retainer"]))
        step = max(1, ((deadline or start + 120) - start) // len(milestone_names))
        for order, milestone_name in enumerate(milestone_names, start=1):
            milestone_id += 1
            starts = milestone_id not in DEMO_FACTS.milestones_without_start_date
            milestones.append(
                {
                    "id": str(milestone_id),
                    "name": milestone_name,
                    "description": f"{milestone_name} phase of {name}.",
                    "description_visible_to_customer": "1" if order % 2 else "0",
                    "start_date": _day(start + step * (order - 1)) if starts else None,
                    "due_date": _day(start + step * order),
                    "project_id": str(index),
                    "color": None,
                    "milestone_order": str(order),
                    "datecreated": _day(start - 7),
                    "hide_from_customer": (
                        "1" if milestone_id in DEMO_FACTS.hidden_milestone_ids else "0"
                    ),
                }
            )
            for task_number in range(rng.randint(0, 6)):
                task_id += 1
                tasks.append(
                    {
                        "id": str(task_id),
                        "name": f"{milestone_name} task {task_number + 1}",
                        "rel_type": "project",
                        "rel_id": str(index),
                        "milestone": str(milestone_id),
                        "status": "5" if rng.random() < 0.5 else str(rng.randint(1, 4)),
                    }
                )
    return projects, milestones, tasks, members, tags


_TICKET_SUBJECTS = (
    "Cannot log in to the customer portal",
    "Invoice amount looks wrong",
    "Website is down",
    "SSL certificate expired",
    "Request for a quote: 20 seats",
    "Password reset email never arrives",
    "URGENT <!channel> production outage",
    "Rechnung für März fehlt",
    "ログインできません",
    "Billing & payments: amount < expected",
    "DNS records for new domain",
    "Slow page loads after the update",
    "Add a new user to our account",
    "Refund for duplicate charge",
    "Mobile layout broken on iPhone",
    "Backup restore request",
    "Question about the roadmap",
    "Change of billing address",
    "Email bounces from info@ mailbox",
    "Export of all our data",
)


def _ticket_rows(
    rng: random.Random, contacts: list[Row], projects: list[Row]
) -> tuple[list[Row], list[tuple[str, str, list[str]]]]:
    tickets: list[Row] = []
    tags: list[tuple[str, str, list[str]]] = []
    active_contacts = [contact for contact in contacts if contact["active"] == "1"]
    for index in range(1, DEMO_FACTS.ticket_count + 1):
        subject = _TICKET_SUBJECTS[(index - 1) % len(_TICKET_SUBJECTS)]
        if index > len(_TICKET_SUBJECTS):
            subject = f"{subject} (follow-up)"
        contact = active_contacts[(index * 7) % len(active_contacts)]
        customer_projects = [p for p in projects if p["clientid"] == contact["userid"]]
        message = f"Hello,<br />\n{subject}. Could you have a look?<br />\nThanks"
        if index == DEMO_FACTS.channel_ticket_id:
            message = "<@U123> please check the load balancer, everything returns 502."
        elif index == 13:
            message = long_text("the account changes")
        opened = 120 - index * 2.5
        status = (index % 5) + 1
        no_contact = index in (19, 38)  # e-mailed in by someone who is not a contact
        tickets.append(
            {
                "ticketid": str(index),
                "adminreplying": "0",
                "userid": "0" if no_contact else str(contact["userid"]),
                "contactid": "0" if no_contact else str(contact["id"]),
                "merged_ticket_id": None,
                "email": "walk-in@unknown.example" if no_contact else None,
                "name": "Walk-in Visitor" if no_contact else None,
                "department": str((index % 3) + 1),
                "priority": str((index % 3) + 1) if index % 8 else "0",
                "status": str(status),
                "service": str(index % 4) if index % 4 else "0",
                "ticketkey": hashlib.md5(f"ticket-{index}".encode()).hexdigest(),
                "subject": subject,
                "message": message,
                "admin": str((index % 5) + 1) if index % 2 else None,
                "date": _stamp(opened),
                "project_id": customer_projects[0]["id"]
                if customer_projects and index % 2
                else "0",
                "lastreply": _stamp(opened - rng.uniform(0.1, 2)) if status != 1 else None,
                "clientread": "1",
                "adminread": "1" if status != 1 else "0",
                "assigned": str(rng.randint(1, 5)) if index % 3 else "0",
                "staff_id_replying": None,
                "cc": "",
            }
        )
        if index % 4 == 0:
            tags.append(("ticket", str(index), ["bug", "customer-facing"]))
    return tickets, tags


def _project_settings_rows(project_count: int) -> list[Row]:
    rows: list[Row] = []
    for project_id in range(1, project_count + 1):
        values = dict(PROJECT_SETTINGS_DEFAULTS)
        hidden_tabs = _PROJECT_TABS_OFF.get(project_id, ())
        values["available_features"] = php_serialize_flags(
            {tab: 0 if tab in hidden_tabs else 1 for tab in PROJECT_TABS}
        )
        values.update(dict.fromkeys(_PROJECT_SETTINGS_OFF.get(project_id, ()), "0"))
        values.update(dict.fromkeys(_PROJECT_SETTINGS_ON.get(project_id, ()), "1"))
        rows.extend(
            {"project_id": str(project_id), "name": name, "value": value}
            for name, value in values.items()
        )
    return rows


def _file_rows() -> dict[str, list[Row]]:
    leads: list[Row] = [
        {
            "rel_id": str(key),
            "rel_type": "lead",
            "file_name": name,
            "filetype": mime,
            "staffid": "1",
            "dateadded": _stamp(days),
        }
        for key, name, mime, days in _FILES["leads"]
    ]
    projects: list[Row] = [
        {
            "project_id": str(key),
            "file_name": name,
            "original_file_name": name,
            "subject": name,
            "filetype": mime,
            "staffid": "1",
            "visible_to_customer": "1",
            "dateadded": _stamp(days),
        }
        for key, name, mime, days in _FILES["projects"]
    ]
    tickets: list[Row] = [
        {"ticketid": str(key), "file_name": name, "filetype": mime, "dateadded": _stamp(days)}
        for key, name, mime, days in _FILES["tickets"]
    ]
    return {"files": leads, "project_files": projects, "ticket_attachments": tickets}


def demo_rows() -> dict[str, list[Row]]:
    """The demo records; identical on every call."""
    rng = random.Random(20240520)
    customers, contacts, groups = _customer_rows(rng)
    leads, lead_tags = _lead_rows(rng)
    projects, milestones, tasks, members, project_tags = _project_rows(rng)
    tickets, ticket_tags = _ticket_rows(rng, contacts, projects)
    tag_names: dict[str, int] = {}
    taggables: list[Row] = []
    for rel_type, rel_id, names in (*lead_tags, *project_tags, *ticket_tags):
        for order, name in enumerate(names, start=1):
            tag_id = tag_names.setdefault(name, len(tag_names) + 1)
            taggables.append(
                {
                    "rel_id": rel_id,
                    "rel_type": rel_type,
                    "tag_id": str(tag_id),
                    "tag_order": str(order),
                }
            )
    return {
        "clients": customers,
        "contacts": contacts,
        "customer_groups": groups,
        "invoices": [
            {
                "clientid": "1",
                "number": "1041",
                "date": _day(-60),
                "total": "1200.00",
                "status": "2",
            },
            {
                "clientid": "1",
                "number": "1042",
                "date": _day(-30),
                "total": "860.50",
                "status": "1",
            },
        ],
        "estimates": [{"clientid": "11", "number": "7", "date": _day(-10), "total": "4300.00"}],
        "leads": leads,
        "projects": projects,
        "project_members": members,
        "project_settings": _project_settings_rows(len(projects)),
        **_file_rows(),
        "milestones": milestones,
        "tasks": tasks,
        "tickets": tickets,
        "tags": [{"id": str(tag_id), "name": name} for name, tag_id in tag_names.items()],
        "taggables": taggables,
    }


def bulk_customer_rows(first_id: int, count: int) -> tuple[list[Row], list[Row]]:
    """``count`` plain customers with one primary contact each, ids from ``first_id``."""
    created = SEED_NOW.strftime("%Y-%m-%d %H:%M:%S")
    customers: list[Row] = []
    contacts: list[Row] = []
    for offset in range(count):
        number = first_id + offset
        customers.append(
            {
                "company": f"Bulk Customer {number:05d}",
                "userid": str(number),
                "phonenumber": f"+1 555 {number:07d}",
                "city": "Springfield",
                "country": "236",
                "datecreated": created,
                "active": "1",
                "default_language": "english",
            }
        )
        contacts.append(
            {
                "userid": str(number),
                "is_primary": "1",
                "firstname": "Bulk",
                "lastname": f"Contact {number:05d}",
                "email": f"contact{number}@bulk.example",
                "datecreated": created,
                "active": "1",
                "password": password_hash_like(f"contact{number}@bulk.example"),
            }
        )
    return customers, contacts


def bulk_ticket_rows(first_id: int, count: int, contacts: list[Row]) -> list[Row]:
    """``count`` ordinary tickets (ids from ``first_id``) from the given contacts, spread over
    departments, statuses, priorities and the first five staff members."""
    rows: list[Row] = []
    for offset in range(count):
        number = first_id + offset
        contact = contacts[offset % len(contacts)]
        status = (number % 5) + 1
        opened = 60 - (offset % 600) / 10
        rows.append(
            {
                "ticketid": str(number),
                "userid": str(contact["userid"]),
                "contactid": str(contact["id"]),
                "department": str((number % 3) + 1),
                "priority": str((number % 3) + 1),
                "status": str(status),
                "service": "0",
                "ticketkey": hashlib.md5(f"ticket-{number}".encode()).hexdigest(),
                "subject": f"Bulk ticket {number:06d}",
                "message": f"Bulk ticket number {number}.",
                "admin": None,
                "date": _stamp(opened),
                "project_id": "0",
                "lastreply": _stamp(opened - 0.05) if status != 1 else None,
                "clientread": "1",
                "adminread": "1",
                "assigned": str((number % 5) + 1),
                "cc": "",
            }
        )
    return rows
