"""Words the demo company is made of: Finnish company and person names, regions, products, free text.

Everything here is plain data. Every string must be encodable in Windows-1252 (the CRM export's
encoding): Finnish and Swedish letters, the euro sign, typographic quotes and dashes are, most other
non-Latin characters are not (``tests/test_generator.py`` checks the CRM files decode as cp1252).
"""

from __future__ import annotations

# --- company names ---------------------------------------------------------------------------------

SURNAMES = (
    "Mäkinen",
    "Virtanen",
    "Korhonen",
    "Nieminen",
    "Mäkelä",
    "Hämäläinen",
    "Laine",
    "Heikkinen",
    "Koskinen",
    "Järvinen",
    "Lehtonen",
    "Lehtinen",
    "Saarinen",
    "Salminen",
    "Heinonen",
    "Niemi",
    "Heikkilä",
    "Kinnunen",
    "Salonen",
    "Turunen",
    "Salo",
    "Laitinen",
    "Tuominen",
    "Rantanen",
    "Karjalainen",
    "Jokinen",
    "Mattila",
    "Savolainen",
    "Lahtinen",
    "Ahonen",
    "Kärkkäinen",
    "Hyvönen",
    "Pöllänen",
    "Kärki",
    "Väisänen",
    "Räsänen",
    "Lindqvist",
    "Söderberg",
    "Öhman",
    "Åberg",
    "Björklund",
    "Grönroos",
    "Nyström",
    "Sjöblom",
    "Forsström",
    "Lindroos",
    "Hägg",
    "Öberg",
    "Ström",
    "Blomqvist",
    "Kettunen",
    "Leppänen",
    "Pesonen",
    "Hiltunen",
    "Kallio",
    "Peltonen",
    "Kokkonen",
    "Miettinen",
    "Pitkänen",
    "Huttunen",
    "Oksanen",
    "Rissanen",
    "Partanen",
)
PLACE_GENITIVES = (
    "Pohjolan",
    "Savon",
    "Hämeen",
    "Karjalan",
    "Lapin",
    "Kainuun",
    "Pirkan",
    "Satakunnan",
    "Uudenmaan",
    "Pohjanmaan",
    "Länsi-Suomen",
    "Itä-Suomen",
    "Etelä-Suomen",
    "Keski-Suomen",
    "Oulun",
    "Vaasan",
    "Porin",
    "Kuopion",
    "Jyväskylän",
    "Tampereen",
    "Turun",
    "Lahden",
    "Kotkan",
    "Rauman",
    "Seinäjoen",
    "Kajaanin",
    "Nordic",
    "Suomen",
    "Saimaan",
    "Päijänteen",
    "Kymen",
    "Ålands",
)
TRADE_WORDS = (
    "Metalli",
    "Kuljetus",
    "Rakennus",
    "Konepaja",
    "Sähkö",
    "Puu",
    "Teräs",
    "Logistiikka",
    "Huolto",
    "Tekniikka",
    "Elintarvike",
    "Muovi",
    "Kone",
    "Putki",
    "Automaatio",
    "Energia",
    "Saha",
    "Paino",
    "Kiinteistöhuolto",
    "Telakka",
    "Valimo",
    "Lämpö",
    "Vesi",
    "Maansiirto",
    "Tukku",
    "Kauppa",
    "Laite",
    "Hydrauliikka",
    "Pinnoite",
    "Elementti",
    "Betoni",
    "Lasi",
    "Kaluste",
    "Tuote",
    "Työ",
    "Verstas",
)
FINNISH_FORMS = ("Oy", "Oy", "Oy", "Oy", "Oy", "Oyj", "Ky", "Ab")
SWEDISH_PAIRS = (
    "Örn",
    "Åberg",
    "Lindqvist",
    "Söderberg",
    "Öhman",
    "Björklund",
    "Grönroos",
    "Nyström",
    "Sjöblom",
    "Hägg",
    "Ström",
    "Blomqvist",
    "Wikström",
    "Lundén",
    "Ekholm",
    "Sundström",
)
# country -> (surnames, trade words, legal form) for the few foreign customers
FOREIGN_NAMES = {
    "SE": (SWEDISH_PAIRS, ("Industri", "Teknik", "Logistik", "Metall", "Handel"), "AB"),
    "EE": (
        ("Tamm", "Saar", "Sepp", "Mägi", "Kask", "Kukk"),
        ("Metall", "Ehitus", "Logistika", "Tehnika"),
        "OÜ",
    ),
    "DE": (
        ("Müller", "Schmidt", "Weiß", "Becker", "Schäfer"),
        ("Metallbau", "Logistik", "Technik", "Handel"),
        "GmbH",
    ),
}
COUNTRY_TLD = {"FI": ".fi", "SE": ".se", "EE": ".ee", "DE": ".de"}

# --- geography -------------------------------------------------------------------------------------

COUNTRIES = ("FI", "SE", "EE", "DE")
COUNTRY_WEIGHTS = (0.88, 0.06, 0.04, 0.02)

# Finnish regions (maakunnat), weighted roughly by where companies are.
FINNISH_REGIONS = (
    ("Uusimaa", 0.31),
    ("Pirkanmaa", 0.10),
    ("Varsinais-Suomi", 0.09),
    ("Pohjois-Pohjanmaa", 0.07),
    ("Keski-Suomi", 0.05),
    ("Pohjois-Savo", 0.045),
    ("Satakunta", 0.04),
    ("Päijät-Häme", 0.04),
    ("Pohjanmaa", 0.035),
    ("Etelä-Pohjanmaa", 0.035),
    ("Kanta-Häme", 0.03),
    ("Lappi", 0.03),
    ("Kymenlaakso", 0.03),
    ("Pohjois-Karjala", 0.025),
    ("Etelä-Savo", 0.025),
    ("Etelä-Karjala", 0.02),
    ("Kainuu", 0.012),
    ("Keski-Pohjanmaa", 0.012),
    ("Ahvenanmaa", 0.006),
)
FOREIGN_REGIONS = {
    "SE": ("Stockholms län", "Västra Götaland", "Skåne"),
    "EE": ("Harjumaa", "Tartumaa", "Ida-Virumaa"),
    "DE": ("Bayern", "Hamburg", "Nordrhein-Westfalen"),
}

# --- business ---------------------------------------------------------------------------------------

# industry, share of accounts, planted static churn-risk shift (log-odds)
INDUSTRIES = (
    ("Teollisuus", 0.24, -0.10),
    ("Rakentaminen", 0.16, 0.25),
    ("Kuljetus ja logistiikka", 0.11, 0.15),
    ("Kauppa", 0.12, 0.20),
    ("Elintarviketeollisuus", 0.07, -0.05),
    ("Energia", 0.05, -0.25),
    ("Metsäteollisuus", 0.06, -0.15),
    ("Terveydenhuolto", 0.05, -0.20),
    ("Julkinen sektori", 0.06, -0.30),
    ("ICT", 0.08, 0.10),
)

# product line, gross margin (net - cost of goods) / net
PRODUCT_LINES = (
    ("Kiinnitystarvikkeet", 0.34),
    ("Hydrauliikka", 0.24),
    ("Työturvallisuus", 0.41),
    ("Työkalut", 0.29),
    ("Huoltopalvelut", 0.55),
)

COMPETITORS = (
    "Nordtrade Oy",
    "Teollisuustukku Länsi Oy",
    "Baltic Parts AS",
    "Svea Industri AB",
    "Kestotuote Oy",
    "Pohjolan Työkalu Oy",
)

ACCOUNT_MANAGERS = (
    "Mikko Virtanen",
    "Anna Korhonen",
    "Jari Nieminen",
    "Päivi Mäkelä",
    "Timo Hämäläinen",
    "Sanna Laine",
    "Heikki Koskinen",
    "Tiina Järvinen",
    "Antti Lehtonen",
    "Satu Heikkinen",
    "Kari Salminen",
    "Eeva Rönkkö",
)

# --- people -----------------------------------------------------------------------------------------

FIRST_NAMES = (
    "Mikko",
    "Jukka",
    "Timo",
    "Matti",
    "Kari",
    "Jari",
    "Antti",
    "Markku",
    "Pekka",
    "Juha",
    "Heikki",
    "Ville",
    "Sami",
    "Janne",
    "Tuomas",
    "Jussi",
    "Eero",
    "Olli",
    "Petri",
    "Lauri",
    "Anna",
    "Päivi",
    "Tiina",
    "Sanna",
    "Satu",
    "Eeva",
    "Anne",
    "Kaisa",
    "Minna",
    "Johanna",
    "Laura",
    "Riikka",
    "Maria",
    "Hanna",
    "Jaana",
    "Tuula",
    "Sari",
    "Heli",
    "Åsa",
    "Örjan",
    "Aino",
    "Elina",
    "Marjo",
    "Pirjo",
    "Henrik",
    "Björn",
    "Stefan",
)
LAST_NAMES = SURNAMES

ROLES = ("decision_maker", "influencer", "user", "other")
# job titles by role (an extra column of the contacts export)
TITLES = {
    "decision_maker": ("Toimitusjohtaja", "Hankintajohtaja", "Tehtaanjohtaja", "Talousjohtaja"),
    "influencer": ("Hankintapäällikkö", "Tuotantopäällikkö", "Kunnossapitopäällikkö", "Työmaapäällikkö"),
    "user": ("Varastopäällikkö", "Asentaja", "Työnjohtaja", "Ostaja", "Huoltomies"),
    "other": ("Kirjanpitäjä", "Assistentti", "Laskutus", "Vastaanotto"),
}

# --- free text --------------------------------------------------------------------------------------
# Templates for CRM activity notes. {name} is a first name, {product} a product line, {competitor} a
# competitor, {amount} a euro amount. They carry what real notes carry: semicolons, line breaks, quotes,
# the euro sign, typographic quotes and dashes (cp1252-only characters) and Finnish letters.

ACTIVITY_NOTES = (
    "Tapaaminen {name}n kanssa; käytiin läpi {product} -tilaukset.",
    "Soitto {name}lle – toimitusaikataulu kunnossa.",
    "{name} pyysi tarjousta: {product}, arvio {amount} €.",
    "Kävin tehtaalla.\nSeuraava käynti syksyllä; {name} vaihtaa työpaikkaa?",
    "Asiakas mainitsi „{competitor}“ -tarjouksen. Hinta ratkaisee.",
    "Sähköposti {name}lle: hinnasto 2025 liitteenä.",
    "Reklamaatio: viallinen erä ({product}).\nHyvitys {amount} € sovittu.",
    "ÄLÄ soita ennen klo 10 – {name} on aamuisin tuotannossa.",
    "Vuosisopimus: neuvottelut jatkuvat; päätös Q4.",
    "Öljyvuoto hydrauliikassa, huoltokäynti tilattu. {name} tyytyväinen.",
    'Kiitos tapaamisesta! "Toimitukset pelaavat", sanoi {name}.',
    "Asiakas harkitsee {competitor}:n tuotteita; pyysi vertailua.",
    "Uusi yhteyshenkilö: {name}. Esittely sovittu.",
    "Laskutusosoite muuttunut – päivitetty järjestelmään.",
    "Åbo-kontorets inköpare {name}: vill ha svenska fakturor, påminnelse skickad.",
    "Messukäynti; {name} kiinnostunut {product}-valikoimasta.\nLähetä esite.",
    "Meeting with {name}: volumes down, budget freeze until next year.",
    "Call: {name} asked about delivery delays; escalated to logistics.",
)

# Survey comments by how the respondent feels: personal-ish, with line breaks, commas and quotes.
COMMENTS_DETRACTOR = (
    "Toimitukset myöhässä jo kolmannen kerran.\nToivoisin parempaa tiedottamista.",
    "Hinnat nousseet, palvelu ei. {name} ei vastaa puhelimeen.",
    'Laatu heikentynyt, "premium"-tuotteet eivät kestä.',
    "Harkitsemme toista toimittajaa, {competitor} tarjosi paremmin.",
    "Laskutuksessa virheitä, hyvityksiä saa odottaa kuukausia.",
    "Deliveries late again, nobody called us.",
)
COMMENTS_PASSIVE = (
    "Ihan ok, mutta hinta-laatusuhde voisi olla parempi.",
    "Toimitukset pääosin ajallaan, verkkokauppa kömpelö.",
    "{name} on hyvä myyjä, mutta tuotevalikoima suppea.",
    "Perusvarma toimittaja, ei moitittavaa, ei kehuttavaa.",
    "OK service, prices a bit high.",
)
COMMENTS_PROMOTER = (
    "Erinomainen palvelu! {name} tuntee meidän tarpeet.",
    "Asiantuntevaa apua hydrauliikkaongelmiin, kiitos {name}!",
    "Nopeat toimitukset, hyvä laatu.\nSuosittelen.",
    'Paras toimittaja alalla, "ei turhia lupauksia".',
    "Great expertise, {name} always helps.",
)

REASONS_LEFT = ("price", "quality", "delivery", "service", "competitor offer", "business closed", "other")

LOST_REASONS = (
    "Hinta",
    "Kilpailijan tarjous",
    "Ei päätöstä",
    "Toimitusaika",
    "Hanke peruttu",
    "Tekninen sopivuus",
)
LOST_REASON_COMPETITOR = "Kilpailijan tarjous"
OPPORTUNITY_KINDS = ("vuosisopimus", "lisämyynti", "projektitoimitus", "huoltosopimus", "kokeilutilaus")

# activity types the planted defects use: not in the contract's list
UNKNOWN_ACTIVITY_TYPES = ("webinar", "lunch", "tradeshow")
NON_NUMERIC_AMOUNTS = ("#VALUE!", "n/a", "1O5.20", "EUR")


def ascii_fold(text: str) -> str:
    """Lower-case ASCII for e-mail addresses and domains: ä -> a, ö -> o, å -> a; spaces, dashes dropped."""
    table = str.maketrans(
        {
            "ä": "a",
            "ö": "o",
            "å": "a",
            "ü": "u",
            "é": "e",
            "ß": "ss",
            "Ä": "a",
            "Ö": "o",
            "Å": "a",
            "Ü": "u",
            " ": "",
            "-": "",
            "&": "",
        }
    )
    return text.translate(table).lower()
