"""``pipeline inspect FILE``: what the pipeline sees in an export, and a draft source mapping for it.

The first hour with a new system: the file's encoding, dialect and sheets, its header, which contract
column each header most likely is (names in English, Finnish and Swedish, then fuzzy matches, ranked),
sample values, and what a load through the drafted mapping would quarantine. The draft is loaded exactly
as production loads it (a scratch landing zone and an in-memory warehouse through
:func:`pipeline.ingest.loader.ingest_entity`), so what inspect reports is what a run would do.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import shutil
import tempfile
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipeline.contract import CONTRACTS, EntityContract, contract_for
from pipeline.ingest.landing import FILE_NAME, LandingFile, extract_date_from_name
from pipeline.ingest.mapping import SCALE_POINT, MappingError, parse_mapping
from pipeline.ingest.readers import (
    ReadFile,
    ReadOptions,
    UnreadableFileError,
    normalise_column_name,
    read_landing_file,
)

# What exports call each contract column, in English, Finnish and Swedish (and the big CRMs' own labels).
# A header equal to one of these (ignoring case, spaces and punctuation) is a sure match.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "account_id": (
        "customer id",
        "customer number",
        "account number",
        "record id",
        "company id",
        "organization id",
        "asiakasnumero",
        "asiakastunnus",
        "asiakas id",
        "asiakkaan numero",
        "kundnummer",
        "kund id",
    ),
    "account_name": (
        "company name",
        "company",
        "customer name",
        "customer",
        "organization name",
        "name",
        "yritys",
        "yrityksen nimi",
        "asiakas",
        "asiakkaan nimi",
        "nimi",
        "företag",
        "företagsnamn",
        "kundnamn",
        "namn",
    ),
    "business_id": ("y-tunnus", "ytunnus", "business id", "fo-nummer", "företags-id", "company registration number"),
    "industry": ("toimiala", "bransch", "sector", "line of business"),
    "country": ("maa", "land", "country code", "maakoodi", "landskod"),
    "region": ("alue", "maakunta", "län", "state", "area"),
    "employees": (
        "number of employees",
        "employee count",
        "henkilöstö",
        "henkilömäärä",
        "työntekijät",
        "antal anställda",
        "anställda",
    ),
    "created_date": (
        "create date",
        "created",
        "created on",
        "creation date",
        "luotu",
        "luontipäivä",
        "perustettu",
        "skapad",
        "skapat",
        "skapad datum",
    ),
    "status": ("lifecycle stage", "state", "tila", "asiakkuuden tila", "tillstånd"),
    "closed_date": (
        "closed on",
        "closed",
        "close date",
        "päättynyt",
        "suljettu",
        "asiakkuus päättynyt",
        "stängd",
        "avslutad",
    ),
    "owner": (
        "account owner",
        "company owner",
        "owner name",
        "vastuuhenkilö",
        "omistaja",
        "myyjä",
        "ansvarig",
        "säljare",
    ),
    "estimated_annual_potential_eur": (
        "annual revenue",
        "potential",
        "annual potential",
        "vuosipotentiaali",
        "potentiaali",
        "årspotential",
        "potential eur",
    ),
    "main_competitor": ("competitor", "main competitor", "pääkilpailija", "kilpailija", "konkurrent"),
    "contact_id": ("contact id", "yhteyshenkilö id", "yhteyshenkilön tunnus", "kontakt id", "person id"),
    "role": ("rooli", "roll", "contact role", "title role"),
    "email": ("e-mail", "email address", "sähköposti", "e-post", "epost"),
    "is_active": ("active", "aktiivinen", "aktiv", "voimassa"),
    "opportunity_id": (
        "opportunity id",
        "deal id",
        "record id",
        "myyntimahdollisuus",
        "kauppa id",
        "affärsmöjlighet",
        "affärs id",
    ),
    "close_date": ("close date", "expected close date", "sulkemispäivä", "arvioitu päättymispäivä", "stängningsdatum"),
    "stage": ("deal stage", "opportunity stage", "vaihe", "myyntivaihe", "fas", "säljfas"),
    "amount_eur": (
        "amount",
        "deal value",
        "value",
        "summa",
        "arvo",
        "määrä",
        "belopp",
        "värde",
        "paid amount",
        "maksettu",
        "maksu",
    ),
    "lost_reason": ("lost reason", "closed lost reason", "häviön syy", "menetetty syy", "förlustorsak"),
    "competitor": ("kilpailija", "konkurrent"),
    "activity_id": ("activity id", "task id", "engagement id", "aktiviteetti id", "tehtävä id", "aktivitets id"),
    "activity_type": ("type", "activity type", "task type", "tyyppi", "aktiviteetin tyyppi", "typ"),
    "activity_date": ("date", "activity date", "due date", "päivämäärä", "päivä", "datum"),
    "notes": ("description", "notes", "body", "kuvaus", "muistiinpanot", "anteckningar", "beskrivning"),
    "campaign": ("campaign name", "kampanja", "kampanjan nimi", "kampanj"),
    "invitation_id": ("invitation id", "kutsu id", "inbjudan id"),
    "survey_id": ("survey", "survey name", "kysely", "kyselyn nimi", "enkät"),
    "sent_date": ("sent", "sent date", "lähetetty", "lähetyspäivä", "skickad"),
    "response_id": ("response id", "responseid", "vastaus id", "vastaustunnus", "svars id", "svar id"),
    "survey_type": ("kyselyn tyyppi", "enkättyp"),
    "invitation": ("kutsu",),
    "response_date": (
        "recorded date",
        "end date",
        "response date",
        "vastattu",
        "vastauspäivä",
        "vastausaika",
        "svarsdatum",
        "besvarad",
    ),
    "nps": (
        "likelihood to recommend",
        "recommend",
        "nps score",
        "suosittelu",
        "suositteluhalukkuus",
        "suosittelisitteko",
        "rekommendera",
        "rekommendation",
    ),
    "considering_alternatives": (
        "considering alternatives",
        "harkitsetteko vaihtoa",
        "vaihtoaikeet",
        "överväger alternativ",
    ),
    "preferred_competitor": (
        "preferred competitor",
        "preferred supplier",
        "vaihtoehtoinen toimittaja",
        "föredragen leverantör",
    ),
    "reason_left": ("reason left", "churn reason", "lopettamisen syy", "orsak"),
    "comment": ("comments", "feedback", "open feedback", "kommentti", "avoin palaute", "palaute", "kommentar"),
    "invoice_id": (
        "invoice number",
        "invoice no",
        "invoice",
        "laskunumero",
        "lasku",
        "laskun numero",
        "fakturanummer",
        "faktura",
    ),
    "line_no": ("line", "line number", "row", "rivi", "rivinumero", "rivi nro", "rad", "radnummer"),
    "invoice_date": ("invoice date", "laskupäivä", "laskun päivämäärä", "fakturadatum"),
    "due_date": ("due date", "eräpäivä", "förfallodatum", "förfallodag"),
    "product_line": ("product", "product group", "tuote", "tuoteryhmä", "tuotelinja", "produkt", "produktgrupp"),
    "net_amount_eur": (
        "net amount",
        "net",
        "amount excl vat",
        "veroton summa",
        "veroton",
        "netto",
        "summa alv 0",
        "nettobelopp",
        "belopp exkl moms",
    ),
    "cost_amount_eur": ("cost", "cost amount", "kustannus", "hankintahinta", "ostohinta", "kostnad", "inköpspris"),
    "paid_date": ("payment date", "paid", "maksupäivä", "maksettu pvm", "betalningsdatum", "betald"),
    "month": ("kuukausi", "period", "kausi", "månad"),
    "service_cost_eur": ("service cost", "cost to serve", "palvelukustannus", "palvelun kustannus", "servicekostnad"),
}
# Words in export file names that name the entity (English, Finnish, Swedish; stems).
ENTITY_NAME_WORDS: dict[str, tuple[str, ...]] = {
    "accounts": ("account", "compan", "organi", "asiakk", "kund"),
    "contacts": ("contact", "kontakt", "yhteyshenk"),
    "opportunities": ("opportunit", "deal", "myyntimahd", "affär"),
    "activities": ("activit", "task", "aktivit", "tehtäv"),
    "invitations": ("invitation", "kutsu", "inbjud"),
    "responses": ("response", "vastau", "svar"),
    "invoice_lines": ("invoice", "lasku", "faktur"),
    "payments": ("payment", "maksu", "betal"),
    "cost_to_serve": ("cost_to_serve", "cost-to-serve", "palvelukust"),
}
# Common exports' words for the contract's coded values; anything else is left for the user to decide.
VALUE_SYNONYMS: dict[str, dict[str, str]] = {
    "status": {
        "customer": "active",
        "asiakas": "active",
        "aktiivinen": "active",
        "kund": "active",
        "aktiv": "active",
        "former customer": "closed",
        "entinen asiakas": "closed",
        "päättynyt": "closed",
        "lopettanut": "closed",
        "inactive": "closed",
        "före detta kund": "closed",
    },
    "stage": {
        "closed won": "won",
        "won": "won",
        "voitettu": "won",
        "vunnen": "won",
        "closed lost": "lost",
        "lost": "lost",
        "hävitty": "lost",
        "menetetty": "lost",
        "förlorad": "lost",
        "avoin": "open",
        "öppen": "open",
        "in progress": "open",
    },
    "activity_type": {
        "tapaaminen": "meeting",
        "palaveri": "meeting",
        "möte": "meeting",
        "puhelu": "call",
        "samtal": "call",
        "sähköposti": "email",
        "e-post": "email",
        "käynti": "visit",
        "besök": "visit",
        "phone call": "call",
        "task": "call",
    },
    "role": {
        "päättäjä": "decision_maker",
        "decision maker": "decision_maker",
        "beslutsfattare": "decision_maker",
        "vaikuttaja": "influencer",
        "påverkare": "influencer",
        "käyttäjä": "user",
        "användare": "user",
        "muu": "other",
        "annan": "other",
    },
}
# Date layouts exports use that the contract's own reading does not take (US order, times with minutes).
EXTRA_DATE_FORMATS = (
    "%m/%d/%Y",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%m/%d/%Y %H:%M",
    "%d/%m/%Y %H:%M",
    "%Y%m%d",
)
SURE, LIKELY = 1.0, 0.72


def _key(text: str) -> str:
    """A name compared without case, accents' composition, spaces or punctuation."""
    text = unicodedata.normalize("NFC", text).lower().replace("_", " ")
    return re.sub(r"[^0-9a-zåäöü]+", "", text)


@dataclass
class Candidate:
    header: str  # as the file spells it
    score: float
    why: str  # "contract name", "synonym", "similar to ..."


@dataclass
class ColumnProposal:
    column: str
    logical: str
    required: bool
    candidates: list[Candidate] = field(default_factory=list)
    chosen: str | None = None
    options: dict[str, object] = field(default_factory=dict)  # scale_labels, strip, date_format, values
    unmapped_values: list[str] = field(default_factory=list)


@dataclass
class Inspection:
    file: Path
    source: str
    entity: str
    detected: dict[str, str | bool]
    header: list[str]
    samples: dict[str, list[str]]
    proposals: list[ColumnProposal]
    extract_date: dt.date | None
    pattern: str
    draft: str = ""
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    quarantine: list[tuple[str, str, int, str]] = field(default_factory=list)  # column, check, rows, example
    load_error: str | None = None
    mapping_used: Path | None = None  # an existing mapping the file was trial-loaded through, instead of a draft


def _score(column: str, header: str) -> Candidate | None:
    key = _key(header)
    if key == _key(column):
        return Candidate(header, SURE, "contract name")
    if any(key == _key(s) for s in SYNONYMS.get(column, ())):
        return Candidate(header, 0.98, "synonym")
    names = (column, *SYNONYMS.get(column, ()))
    best = max(names, key=lambda n: difflib.SequenceMatcher(None, key, _key(n)).ratio())
    ratio = difflib.SequenceMatcher(None, key, _key(best)).ratio()
    return Candidate(header, round(ratio * 0.9, 2), f"similar to {best!r}") if ratio >= 0.6 else None


def propose(contract: EntityContract, header: list[str], extract_date: dt.date) -> list[ColumnProposal]:
    """Ranked candidates per contract column, and one header chosen for each (best score first, a header
    used once)."""
    schema = contract.schema(extract_date)
    proposals = []
    for name, column in schema.columns.items():
        if column.regex:
            continue  # driver_* columns are named by the user: the survey's own questions
        meta = column.metadata or {}
        found = [c for c in (_score(name, h) for h in header) if c is not None]
        found.sort(key=lambda c: -c.score)
        proposals.append(ColumnProposal(name, meta["logical"], not column.nullable, found[:3]))
    taken: set[str] = set()
    pairs = sorted(
        ((c.score, p.column, c.header) for p in proposals for c in p.candidates if c.score >= LIKELY),
        reverse=True,
    )
    by_name = {p.column: p for p in proposals}
    for _, column, header_name in pairs:
        proposal = by_name[column]
        if proposal.chosen is None and header_name not in taken:
            proposal.chosen = header_name
            taken.add(header_name)
    return proposals


def _guess_source_and_entity(path: Path, header: list[str], source: str | None, entity: str | None) -> tuple[str, str]:
    if source is None and path.parent.name in {c.source for c in CONTRACTS}:
        source = path.parent.name
    named = FILE_NAME.match(path.name)
    if entity is None and named and any(c.entity == named["entity"].lower() for c in CONTRACTS):
        entity = named["entity"].lower()
    candidates = [
        c for c in CONTRACTS if (source is None or c.source == source) and (entity is None or c.entity == entity)
    ]
    if not candidates:
        raise ValueError(f"no contract entity {source or '*'}/{entity or '*'}: see pipeline/contract.py")

    file_name = path.name.lower()

    def fit(contract: EntityContract) -> float:
        found = propose(contract, header, dt.date.today())
        header_fit = sum(p.candidates[0].score for p in found if p.candidates and p.required) / max(
            1, sum(p.required for p in found)
        )
        # Exports are often named after their object (Salesforce's Contact, Dynamics' "Active Contacts"),
        # which tells apart entities whose required columns look alike (an id, an account id, a date).
        named_after = any(word in file_name for word in ENTITY_NAME_WORDS.get(contract.entity, ()))
        return header_fit + (1.0 if named_after else 0.0)

    best = max(candidates, key=fit)
    return best.source, best.entity


def _read(conn: duckdb.DuckDBPyConnection, path: Path, scratch: Path) -> tuple[ReadFile, list[str]]:
    """The file staged by the pipeline's own readers; the header as written (for the mapping's `from`)."""
    fmt = {".csv": "csv", ".txt": "csv", ".parquet": "parquet", ".xlsx": "xlsx"}.get(path.suffix.lower())
    if fmt is None:
        raise UnreadableFileError(path.name, f"{path.suffix or 'no suffix'} is not csv, txt, parquet or xlsx")
    file = LandingFile(path, path.name, "", "", dt.date.today(), fmt)
    try:
        read = read_landing_file(conn, file, scratch, set())
    except UnreadableFileError as error:
        if fmt != "xlsx" or "other columns than the first data sheet" not in error.problem:
            raise
        from python_calamine import CalamineWorkbook

        first = CalamineWorkbook.from_path(str(path)).sheet_names[0]
        read = read_landing_file(conn, file, scratch, set(), ReadOptions(sheet=first))
    return read, [read.header.get(name, name) for name in read.columns]


def _samples(conn: duckdb.DuckDBPyConnection, read: ReadFile, limit: int = 3) -> dict[str, list[str]]:
    samples = {}
    for name in read.columns:
        spelled = read.header.get(name, name)
        rows = conn.execute(
            f"select distinct cast(\"{name}\" as varchar) as v from {read.table} where v is not null and trim(v) <> '' "
            f"limit {limit}"
        ).fetchall()
        samples[spelled] = [row[0] for row in rows]
    return samples


def _distinct(conn: duckdb.DuckDBPyConnection, read: ReadFile, name: str, limit: int = 50) -> list[str]:
    rows = conn.execute(
        f"select trim(cast(\"{name}\" as varchar)) as v, count(*) from {read.table} where v is not null and v <> '' "
        f"group by v order by 2 desc, v limit {limit}"
    ).fetchall()
    return [row[0] for row in rows]


def _parsing_options(
    conn: duckdb.DuckDBPyConnection, read: ReadFile, proposal: ColumnProposal, allowed: list[str]
) -> None:
    """Parsing the values need, judged from the values themselves."""
    values = _distinct(conn, read, normalise_column_name(proposal.chosen, 0))
    if not values:
        return
    if proposal.logical == "integer" and sum(bool(re.match(SCALE_POINT, v)) for v in values) >= len(values) / 3:
        proposal.options["scale_labels"] = True
    if proposal.logical == "money":
        signs = [s for s in ("€", "EUR", "eur") if any(s in v for v in values)]
        if signs:
            proposal.options["strip"] = sorted({s.upper() if s != "€" else s for s in signs})
    if proposal.logical in ("date", "month"):
        own = ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d", "%Y-%m")

        def parses(value: str, fmt: str) -> bool:
            try:
                dt.datetime.strptime(value, fmt)
            except ValueError:
                return False
            return True

        if not all(any(parses(v, f) for f in own) for v in values):
            fitting = [f for f in EXTRA_DATE_FORMATS if all(parses(v, f) for v in values)]
            if fitting:
                proposal.options["date_format"] = fitting[0]
    if proposal.logical == "enum":
        known = VALUE_SYNONYMS.get(proposal.column, {})
        mapped = {}
        for value in values:
            if value.lower() in allowed:
                continue
            target = known.get(value.lower())
            if target:
                mapped[value] = target
            else:
                proposal.unmapped_values.append(value)
        if mapped:
            proposal.options["values"] = mapped


def _yaml_text(value: object) -> str:
    text = str(value)
    plain = re.fullmatch(r"[A-Za-z_][\w .()/-]*", text) and text.strip() == text
    reserved = text.lower() in ("yes", "no", "true", "false", "on", "off", "null", "y", "n")
    return text if plain and not reserved else '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def draft_mapping(inspection: Inspection, system: str) -> str:
    """The mapping file a user edits: what inspect is sure of filled in, the rest as comments."""
    contract = contract_for(inspection.source, inspection.entity)
    lines = [
        f"# Draft source mapping written by `pipeline inspect {inspection.file.name}` on {dt.date.today()}.",
        "# Check every line, fill in what is marked TODO, then move the file to $PIPELINE_MAPPINGS_DIR",
        "# (default <landing>/mappings/). docs/ingest.md describes every key.",
        f"system: {_yaml_text(system)}",
        f"source: {inspection.source}",
        "files:",
        f"  - match: {_yaml_text(inspection.pattern)}",
        f"    entity: {inspection.entity}",
    ]
    if inspection.extract_date is None:
        lines.append("    extract_date: modified   # the file name has no date")
    if inspection.detected.get("sheets") and "," in str(inspection.detected["sheets"]):
        lines.append(f"    # sheet: {_yaml_text(str(inspection.detected['sheets']).split(', ')[0])}")
    lines.append("    columns:")
    for proposal in inspection.proposals:
        others = ", ".join(f"{c.header!r} {c.score:.2f}" for c in proposal.candidates if c.header != proposal.chosen)
        alternatives = f"   # also: {others}" if others else ""
        if proposal.chosen is None:
            need = "TODO required: no column of the file looks like it" if proposal.required else "not found"
            lines.append(f"      # {proposal.column}: {need}{alternatives}")
            continue
        options = {"from": proposal.chosen, **proposal.options}
        if list(options) == ["from"] and proposal.chosen == proposal.column:
            lines.append(f"      # {proposal.column}: the file's own column{alternatives}")
            continue
        if list(options) == ["from"]:
            lines.append(f"      {proposal.column}: {_yaml_text(proposal.chosen)}{alternatives}")
        else:
            lines.append(f"      {proposal.column}:{alternatives}")
            lines.append(f"        from: {_yaml_text(proposal.chosen)}")
            for key, value in proposal.options.items():
                if isinstance(value, dict):
                    lines.append(f"        {key}:")
                    lines += [f"          {_yaml_text(k)}: {_yaml_text(v)}" for k, v in value.items()]
                elif isinstance(value, list):
                    lines.append(f"        {key}: [{', '.join(_yaml_text(v) for v in value)}]")
                elif isinstance(value, bool):
                    lines.append(f"        {key}: {'true' if value else 'false'}")
                else:
                    lines.append(f"        {key}: {_yaml_text(value)}")
        if proposal.unmapped_values:
            allowed = _allowed(contract, proposal.column)
            if "values" not in proposal.options:
                lines.append("        values:" if list(options) != ["from"] else f"      # {proposal.column} values:")
            for value in proposal.unmapped_values[:10]:
                lines.append(f"          # {_yaml_text(value)}: TODO one of {', '.join(allowed)}")
    return "\n".join(lines) + "\n"


def _allowed(contract: EntityContract, column: str) -> list[str]:
    checks = contract.schema(dt.date.today()).columns[column].checks
    return next((list(c.statistics["allowed_values"]) for c in checks if c.name == "isin"), [])


def _pattern(name: str) -> str:
    """The file name with its date (and a trailing counter) as wildcards: the next export matches too."""
    pattern = re.sub(r"(?<!\d)\d{4}[-_]?\d{2}[-_]?\d{2}(?!\d)|(?<!\d)\d{1,2}\.\d{1,2}\.\d{4}(?!\d)", "*", name)
    return re.sub(r"\(\d+\)", "*", pattern)


def _trial_load(inspection: Inspection) -> None:
    """Load the file through the draft as a run would: scratch landing zone, in-memory warehouse."""
    from pipeline.ingest.loader import ingest_entity

    try:
        parse_mapping(inspection.draft, "draft")
    except MappingError as error:
        inspection.load_error = f"the draft is not a valid mapping yet: {error.problem}"
        return
    with tempfile.TemporaryDirectory(prefix="inspect-") as scratch:
        root = Path(scratch)
        (root / "landing" / inspection.source).mkdir(parents=True)
        (root / "mappings").mkdir()
        (root / "mappings" / "draft.yml").write_text(inspection.draft, encoding="utf-8")
        target = root / "landing" / inspection.source / inspection.file.name
        shutil.copy2(inspection.file, target)
        conn = duckdb.connect()
        try:
            result = ingest_entity(
                conn,
                contract_for(inspection.source, inspection.entity),
                root / "landing",
                "inspect",
                max_quarantine_share=1.0,
                tmp_dir=root,
                mappings_dir=root / "mappings",
            )
        except (UnreadableFileError, MappingError, ValueError) as error:
            conn.close()
            inspection.load_error = str(error)
            return
        inspection.rows_read = result.rows_read
        inspection.rows_loaded = result.rows_loaded
        inspection.rows_quarantined = result.rows_quarantined
        inspection.quarantine = [
            (str(c), str(k), int(n), str(v))
            for c, k, n, v in conn.execute(
                """
                select coalesce(column_name, ''), check_name, count(distinct row_number), min(value)
                from quarantine.rejected_rows group by all order by 3 desc, 1
                """
            ).fetchall()
        ]
        conn.close()


def _mapping_for(path: Path, mapping: Path) -> tuple[str, str, str]:
    """(the mapping's text, its source, the entity of the rule that matches the file): an existing mapping,
    checked against the file it should read. Raises MappingError (file, line, problem) or ValueError."""
    text = mapping.read_text(encoding="utf-8-sig")
    parsed = parse_mapping(text, str(mapping))
    rule = next((r for r in parsed.files if r.matches(path.name)), None)
    if rule is None:
        patterns = ", ".join(p for r in parsed.files for p in r.match)
        raise ValueError(f"no rule of {mapping} matches the file name {path.name!r} (its patterns: {patterns})")
    return text, parsed.source, rule.entity


def inspect_file(
    path: Path,
    *,
    source: str | None = None,
    entity: str | None = None,
    system: str | None = None,
    mapping: Path | None = None,
) -> Inspection:
    """Inspect ``path``; with ``mapping``, trial-load it through that mapping instead of a draft."""
    mapping_text = None
    if mapping is not None:
        mapping_text, source, entity = _mapping_for(path, mapping)
    with tempfile.TemporaryDirectory(prefix="inspect-read-") as scratch:
        conn = duckdb.connect()
        try:
            read, header = _read(conn, path, Path(scratch))
            guessed_source, guessed_entity = _guess_source_and_entity(path, header, source, entity)
            contract = contract_for(guessed_source, guessed_entity)
            extract_date = extract_date_from_name(path.name)
            proposals = propose(contract, header, extract_date or dt.date.today())
            for proposal in proposals:
                if proposal.chosen is not None:
                    _parsing_options(conn, read, proposal, _allowed(contract, proposal.column))
            inspection = Inspection(
                file=path,
                source=guessed_source,
                entity=guessed_entity,
                detected=dict(read.detected),
                header=header,
                samples=_samples(conn, read),
                proposals=proposals,
                extract_date=extract_date,
                pattern=_pattern(path.name),
            )
        finally:
            conn.close()
    if mapping_text is not None:
        inspection.draft, inspection.mapping_used = mapping_text, mapping
    else:
        inspection.draft = draft_mapping(inspection, system or "TODO the exporting system")
    _trial_load(inspection)
    return inspection


def report(inspection: Inspection) -> str:
    """The inspection as a person reads it in a terminal."""
    d = inspection.detected
    through = str(inspection.mapping_used) if inspection.mapping_used else "the draft"
    out = [f"{inspection.file}", ""]
    out.append("Detected: " + ", ".join(f"{k} {v}" for k, v in d.items() if k != "mapping"))
    out.append(
        f"Entity: {inspection.source}/{inspection.entity}; extract date "
        + (str(inspection.extract_date) if inspection.extract_date else "not in the file name")
    )
    out.append("")
    out.append(f"Header ({len(inspection.header)} columns) and sample values:")
    for name in inspection.header:
        out.append(f"  {name:<32} {' | '.join(inspection.samples.get(name, []))[:80]}")
    out.append("")
    out.append("Proposed mapping (contract column <- file column, score, why):")
    for p in inspection.proposals:
        mark = "*" if p.required else " "
        if p.chosen is None:
            out.append(f" {mark}{p.column:<32} ?  " + ("(required: none found)" if p.required else ""))
            continue
        chosen = next(c for c in p.candidates if c.header == p.chosen)
        extra = f"  [{', '.join(f'{k}' for k in p.options)}]" if p.options else ""
        out.append(f" {mark}{p.column:<32} <- {p.chosen} ({chosen.score:.2f}, {chosen.why}){extra}")
        if p.unmapped_values:
            out.append(f"   {'':<32}    values to map: {', '.join(p.unmapped_values[:8])}")
    out.append("")
    if inspection.load_error:
        out.append(f"Trial load through {through}: not possible yet: {inspection.load_error}")
    else:
        out.append(
            f"Trial load through {through}: {inspection.rows_read} rows read, {inspection.rows_loaded} would load, "
            f"{inspection.rows_quarantined} would be quarantined"
        )
        for column, check, rows, example in inspection.quarantine[:15]:
            out.append(f"  {column or '(row)'} {check}: {rows} row(s), e.g. {example!r}")
    return "\n".join(out) + "\n"
