"""Who said it: the speaker of each sentence of a document, or ``None`` when the text does not say.

:func:`attribute` takes a document's sentences (with their paragraph and whether they are
quoted) and returns one speaker hint per sentence. Rules, in the order they apply
(``docs/speakers.md`` has the examples, the measured figures and the limits):

1. **An attribution in the sentence.** A reporting verb (said, told, denied, accused, called,
   argued, warned...; French *a déclaré*, *estime*, *a-t-elle ajouté*; Spanish *dijo*, *afirmó*)
   with its subject: ``“...,” she said``, ``Lopez said that``, ``“...,” said Maria Lopez, the
   minister``, ``Steven Willoughby, a senior official, said``, ``Its president, Ruth Adeyemi,
   said``, ``According to X`` / ``..., according to X`` (*selon X*, *según X*, *d’après X*).
2. **What the subject names.** A name is the speaker as written (``Energy Minister González``;
   "The" dropped before a capital, as in ``the SRE said``). A definite institution (``the
   government``, ``the ministry``, ``the company``) is the speaker as written. Unnamed people and
   documents (``officials``, ``a spokesman``, ``they``, ``a report``, ``a poll``) give ``None``.
3. **Pronouns agree in gender.** *he*/*she* (*il*, *elle*, *selon lui*) go to the nearest earlier
   sentence that mentions a person who can be that gender: a title (Mr, Mrs, Ms, Sr., Sra., M.,
   Mme...), a first name on the lists below, or a gendered role (spokeswoman, *la ministra*) gives
   the gender; a surname takes the gender of the full name it shortens. If that sentence
   holds two such people, the pronoun goes to its speaker if that speaker is one of them, else
   ``None``. A pronoun never goes to an institution.
4. **Roles.** ``the minister said`` (*la ministra respondió*, *a déclaré la ministre*) goes to the
   one person the article introduces with that role (``Maria Lopez, the housing minister``,
   ``Housing Minister Maria Lopez``, ``The housing minister, Maria Lopez,``); ``None`` if there is
   no such person or more than one.
5. **No subject** (Spanish and French: ``«...», aseguró.``, ``—dijo—``): the speaker of the
   sentence just before.
6. **Quotes.** A quoted sentence with no attribution of its own takes the speaker of the nearest
   attributed sentence of its paragraph (earlier first, then later, at most 4 sentences away)
   when that sentence attributes a quotation and the paragraph's quotation marks pair up.

Precision comes first: a wrong name is silently wrong, while ``None`` is visible to the
annotator, so every rule that cannot decide returns ``None`` rather than a guess.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Sequence

__all__ = ["attribute", "cue_words"]


def _words(text: str) -> list[str]:
    return text.split()


# --- word lists ----------------------------------------------------------------------------
# First names whose gender is clear in the languages of the corpus (English, Spanish, French,
# Portuguese, German, Italian) plus common international ones. Names used for both (Jordan,
# Alex, Sam, Jean, Kim, Andrea, Kelly, Camille, Dominique...) are left out: their gender stays unknown.
_FEMALE = frozenset(
    _words(
        """
        abigail ada adriana agnes aisha alejandra alexandra alice alicia alison amanda amelia amy ana
        anabel  angela angelica anita ann anna anne annette antonia ariana audrey aurora
        barbara beatrice beatriz belen bernadette beth betty blanca brenda bridget brigitte caitlin
        camila  carla carmen carol carolina caroline catalina catherine cecilia celine chantal
        charlotte chloe christina christine cindy claire clara claudia colette concepcion constance
        cristina  daniela deborah denise diana diane dolores donna dora dorothy eleanor elena
        eliana elisa elisabeth elise eliza elizabeth ella ellen eloise elsa emilia emily emma erika
        esperanza esther eugenia eva evelyn fatima fernanda florence frances francesca francoise
        gabriela gabrielle genevieve georgina gina giulia gloria grace graciela guadalupe hannah
        heather helen helena helene hilary hillary ines ingrid irene iris isabel isabella isabelle
        jacqueline jane janet janice jennifer jessica jill joan joanna josefina josephine joyce
        juana judith julia juliana julie julieta justine karen karina katherine kathleen kathryn
        katie  kemi laura lauren  leila lidia liliana linda lisa lorena louise lucia
        lucie lucy luisa luz lydia magdalena manon marcela margaret margarita maria mariana marianne
        marie marina marisol marta martha martina mary maryam melanie melissa mercedes michelle
        miriam monica monique nadia nadine nancy naomi natalia natalie nathalie nicole nina noemi
        nora norma olga olivia paola patricia paula pauline pilar priya rachel raquel rebecca regina
        rita roberta rocio rosa rosario rose ruth sabine sandra sara sarah silvia simone siobhan
        sofia sonia sophie stephanie susan susana suzanne sylvia sylvie tamara teresa theresa tina
        valentina valeria valerie vanessa veronica veronique victoria violeta virginia virginie
        wendy ximena yolanda yvonne zoe
        """
    )
)
_MALE = frozenset(
    _words(
        """
        aaron abdul adam adrian ahmed alain alan albert alberto alejandro alexander alexandre alfonso
        alfredo ali alonso alvaro amir andre andres andrew angel anthony antoine antonio armando
        arnaud arthur arturo benjamin benoit bernard bernardo bill bob brian bruno carl carlos cesar
        charles chris christian christophe christopher claude clement colin craig damien daniel
        darius david dennis diego dominic  donald douglas edgar eduardo edward emilio
        emmanuel enrique eric ernesto esteban etienne eugene fabien fabrice federico felipe felix
        fernando francis francisco francois frank franck frederic gabriel gary george georges gerard
        gilles gonzalo gordon graham gregory guillaume gustavo guy harry hector henri henry hernan
        hiroshi hugo hugues ian ignacio ivan jack jacques jaime james jason javier jeffrey jerome
        jesus jim joao joe john jonas jonathan jorge jose joseph juan julian julien justin karl
        keith kenneth kevin larry laurent leo leon leonardo louis luc lucas luis manuel marc marcel
        marco marcos marcus mario mark martin mateo matthew matthieu maurice mauricio max maxime
        michael michel miguel mike mohamed mohammed muhammad nathan nicholas nicolas noel olivier
        oliver omar oscar pablo pascal patrice patrick paul pedro peter philip philippe pierre rafael
        ramon raul raymond ricardo richard robert roberto rodrigo roger roland ronald ruben ryan
        salvador samuel santiago scott sebastian sebastien sergio simon stephane stephen steven
        thierry thomas timothy tom tony victor vincent walter william xavier yann yves
        """
    )
)
# Titles before a name: (gender or None).
_TITLES: dict[str, str | None] = {
    **dict.fromkeys(_words("mr mr. sr sr. señor m. monsieur sir lord don herr"), "m"),
    **dict.fromkeys(
        _words(
            """
            mrs mrs. ms ms. miss sra sra. srta srta. señora señorita mme mme. madame mlle mlle. dame lady
            doña frau
            """
        ),
        "f",
    ),
    **dict.fromkeys(
        _words(
            """
            dr dr. prof prof. rev rev. republican democrat professor president minister secretary governor
            mayor senator sen. rep. gov.
            councillor councilor councilman councilwoman judge ambassador chancellor director chief analyst
            economist commissioner captain father bishop rabbi imam premier prime deputy vice spokesperson
            chair chairman chairwoman ceo attorney representative lawmaker presidente presidenta ministro
            ministra secretario secretaria président présidente ministre maire alcalde alcaldesa gobernador
            gobernadora senador senadora diputado diputada député députée sénateur sénatrice canciller
            """
        ),
        None,
    ),
}
_TITLES["chairman"] = _TITLES["councilman"] = "m"
_TITLES["chairwoman"] = _TITLES["councilwoman"] = "f"

# Heads of noun phrases naming a person by role ("the minister said"), with a gender where the
# word marks one.
_ROLE_GENDER: dict[str, str | None] = {
    **dict.fromkeys(
        _words(
            """
            minister president governor mayor secretary senator director chair chief executive ceo
            spokesperson leader head author economist analyst councillor councilor commissioner ambassador
            chancellor premier judge prosecutor founder chairperson coach manager lawmaker representative
            portavoz porte-parole ministre maire juge fiscal responsable secrétaire vice-président
            vice-presidente canciller professor aide adviser advisor editor correspondent
            """
        ),
        None,
    ),
    **dict.fromkeys(
        _words(
            """
            spokesman chairman congressman councilman businessman ministro presidente secretario director
            alcalde gobernador senador diputado député sénateur directeur président fundador dirigente
            """
        ),
        "m",
    ),
    **dict.fromkeys(
        _words(
            """
            spokeswoman chairwoman congresswoman councilwoman businesswoman ministra presidenta secretaria
            directora alcaldesa gobernadora senadora diputada députée sénatrice directrice présidente
            fundadora vice-présidente
            """
        ),
        "f",
    ),
}
_ROLE_GENDER["director"] = None  # English and Spanish share the word
# Institutions: a definite one ("the ministry said") is a speaker as written, never a person.
_INSTITUTIONS = frozenset(
    _words(
        """
        government ministry department agency company firm office authority council commission court
        police army embassy bank association federation union institute party newspaper organisation
        organization trust foundation university treasury city state administration cabinet committee
        board group network channel broadcaster regulator watchdog chamber coalition alliance campaign
        secretariat tribunal college
        gobierno ministerio departamento agencia compañía empresa oficina autoridad consejo comisión
        policía ejército embajada banco asociación federación sindicato instituto partido diario periódico
        organización fundación universidad ayuntamiento alcaldía secretaría fiscalía
        gouvernement ministère agence entreprise société autorité conseil commission tribunal armée
        ambassade banque fédération syndicat institut parti journal organisation fondation université
        mairie métropole préfecture région
        """
    )
)
# People and sources left unnamed, and documents: no speaker.
_UNNAMED = frozenset(
    _words(
        """
        official officials source sources person people critic critics analyst analysts economist
        economists expert experts observer observers witness witnesses resident residents lawmaker
        lawmakers legislators researchers scientists doctors teachers parents workers activists
        campaigners opponents supporters protesters voters diplomats investors traders shopkeepers
        spokesman spokeswoman spokesperson aide aides insider insiders executives someone many some
        others groups companies unions authorities they them ils elles ellos ellas fuentes sources
        responsables expertos expertos críticos vecinos habitants analystes témoins
        report statement study survey poll data figures analysis document letter filing note website
        informe comunicado estudio encuesta datos cifras sondage rapport étude communiqué chiffres
        données
        """
    )
)
# Capitalised words that start a sentence or clause but never a speaker's name.
_NOT_NAMES = frozenset(
    _words(
        """
        it its this that these those there here what which who whom whose why how when where while
        but and or so yet then later earlier meanwhile however also still now today yesterday tomorrow
        asked after before during since until in on at for from with without by of to into about
        as if although though because a an the some many most all both each every no not one two
        three four five several few other such his her their our my your we you i
        en el la los las le les un una uno unos unas por para con sin sobre tras según desde durante
        dans pour avec sans sur après avant selon pendant depuis mais et ou donc puis
        """
    )
)

_UP = "A-ZÀ-ÖØ-ÞĀĂĄĆČĎĐĒĖĘĚĞĪİŁŃŇŌŐŒŘŚŞŠŢŤŪŮŰŸŹŻŽ"
_LOW = "a-zß-öø-ÿāăąćčďđēėęěğīıłńňōőœřśşšţťūůűźżž"
_TOKEN = rf"[{_UP}][\w’'.-]*"
_CONNECT = r"(?:de|del|la|las|los|van|von|der|den|al|bin|of|for|du|des|d’|d'|y|e|da|dos|do|di|le)"
# A capitalised name: "Maria Lopez", "Energy Minister Luz Elena González", "Consejo de la Juventud",
# "Mexico’s Ministry of Foreign Affairs (SRE)".
_NAME = rf"{_TOKEN}(?:\s+(?:{_CONNECT}\s+){{0,2}}{_TOKEN}){{0,7}}(?:\s+\([{_UP}]{{2,}}\))?"
_DET = (
    r"(?:[Tt]he|[Aa]n?|[Ii]ts|[Tt]heir|[Hh]is|[Hh]er|[Ll]a|[Ll]e|[Ll]es|[Ee]l|[Ll]os|[Ll]as|[Ss]us?|[Uu]n|[Uu]na|"
    r"[Uu]ne|[Ll]’|[Ll]')"
)
_WORD = r"[\w’'.-]+"
# A noun phrase after a determiner: "the ministry", "the council’s transport department".
_NP = rf"{_DET}\s*(?<=[\s’']){_WORD}(?:\s+{_WORD}){{0,4}}?"
_ROLE_WORDS = "|".join(sorted(_ROLE_GENDER, key=len, reverse=True))
# A role or lower-case description before a name: "Opposition housing spokesman Daniel Okafor",
# "Le député socialiste Julien Mercier", "La presidenta Andrea Morales".
_SMALL_WORDS = r"(?:for|from|at|in|on|à|a|an|en|with|to|by|about|that|and|or|but|after|before|when|as|while)"
_ROLE_PREFIX = rf"(?:{_DET}\s+|[{_UP}][\w-]*\s+)?(?:(?!(?:{_CONNECT}|{_SMALL_WORDS})\b)[{_LOW}][\w-]*\s+){{1,3}}?"
_PRONOUN = r"[Hh]e|[Ss]he|[Tt]hey|[Ii]l|[Ee]lle|[Ii]ls|[Ee]lles"
# "finance minister says" in a headline: a role with no determiner.
_BARE_ROLE = rf"(?:[{_LOW}][\w-]*\s+)?(?:{_ROLE_WORDS})"
_SUBJECT = rf"(?:{_ROLE_PREFIX})?(?P<who>{_PRONOUN}|{_NAME}|{_NP}|{_BARE_ROLE})"

# Reporting verbs. A word list, so that the cue (below) is a set lookup; the regex form of a few
# says what must follow or not ("called for" asks, it does not say).
_EN_VERBS = _words(
    """
        said says told tells added adds noted notes explained explains stated states announced announces
        argued argues claimed claims wrote writes tweeted posted insisted insists warned warns asked
        replied responded responds reiterated reiterates remarked declared declares confirmed confirms
        denied denies reported reports accused accuses questioned questions called calls rejected rejects
        dismissed dismisses disputed disputes acknowledged acknowledges admitted admits conceded concedes
        countered counters contended contends maintained maintains suggested suggests estimated estimates
        predicted predicts promised promises pledged pledges vowed vows urged urges stressed stresses
        emphasised emphasized emphasises emphasizes pointed points revealed reveals recalled recalls
        observed criticised criticized criticises criticizes defended defends welcomed welcomes praised
        praises blamed blames alleged alleges testified complained complains cautioned cautions mentioned
        concluded concludes disagreed objected boasted assured assures
"""
)
_FR_VERBS = _words(
    """
        déclaré affirmé dit indiqué expliqué ajouté souligné assuré estimé dénoncé défendu rappelé annoncé
        précisé reconnu répondu insisté averti jugé critiqué accusé démenti nié valoir martelé plaidé
        demandé confié regretté prévenu promis réagi salué déclare affirme indique explique ajoute
        souligne assure estime dénonce défend rappelle annonce précise reconnaît répond insiste avertit
        juge critique accuse dément nie martèle plaide demande confie regrette prévient promet salue
        poursuit conclut
"""
)
_ES_VERBS = _words(
    """
        dijo afirmó aseguró señaló explicó declaró añadió agregó indicó sostuvo advirtió apuntó subrayó
        destacó insistió criticó denunció reconoció respondió rechazó negó acusó cuestionó pidió anunció
        informó detalló precisó manifestó expresó consideró estimó lamentó celebró defendió presentó
        aclaró admitió prometió recordó alertó dice afirma asegura señala explica declara añade agrega
        indica sostiene advierte destaca insiste critica denuncia reconoce responde rechaza niega acusa
        cuestiona pide anuncia informa considera estima lamenta celebra defiende aclara admite recuerda
"""
)
_VERB_FORMS = {
    # "called the figures “a fantasy”", "called on the government to": not "called for", not a phone call
    "called": r"called(?=\s+on\b|[^“\"«]*[“\"«])(?!\s+for\b)",
    "calls": r"calls(?=\s+on\b|[^“\"«]*[“\"«])(?!\s+for\b)",
    "asked": r"asked(?!\s+for\b)",
    # "questioned whether / the figures", not "questioned a man" (the police did)
    "questioned": r"questioned(?!\s+(?:a|an|him|her|them|two|three|several|people|suspects|witnesses|\d)\b)",
    "pointed": r"pointed\s+out",
    "points": r"points\s+out",
    "valoir": r"fait\s+valoir",
}


def _alternation(words: list[str]) -> str:
    """A regex for any of ``words`` (each a whole word), as a trie: one test per letter, not per word."""
    special = [_VERB_FORMS[w] for w in words if w in _VERB_FORMS]
    plain = sorted({w for w in words if w not in _VERB_FORMS})
    return "|".join([*special, _trie(plain)]) if plain else "|".join(special)


def _trie(words: list[str]) -> str:
    if words == [""]:
        return ""
    groups: dict[str, list[str]] = {}
    for w in words:
        groups.setdefault(w[:1], []).append(w[1:])
    branches = []
    for first, rests in groups.items():
        if first == "":
            continue
        sub = _trie(rests)
        optional = "" in rests
        if optional and sub:
            branches.append(f"{re.escape(first)}(?:{sub})?")
        else:
            branches.append(re.escape(first) + (f"(?:{sub})" if sub and "|" in sub else sub))
    out = "|".join(branches)
    return out


_VERBS = f"(?:{_alternation(_EN_VERBS + _FR_VERBS + _ES_VERBS)})"
_ADVERB = r"(?:(?:also|then|later|again|once|still|repeatedly|subsequently|previously|further|\w+ly)\s+)?"
_WHEN = r"(?:(?:on|late\s+on|early\s+on)\s+[A-Z][a-z]+day(?:\s+(?:morning|afternoon|evening|night))?\s+)?"
_AUX = r"(?:(?:has|have|had|a|avait|ha|había|han|ont)\s+(?:also\s+|aussi\s+|même\s+)?)?"
_AFTER_SUBJECT = rf"\s+{_WHEN}{_ADVERB}{_AUX}{_VERBS}\b"

_APPOSITION = r"[^,“”\"«»;]{2,120}?"
_NP_END = (
    r"(?=\s*[,.;:!?”\"»—(]|\s*$|\s+(?:on|at|in|during|after|before|to|from|outside|who|which|que|qui|en|à|"
    r"lors|ce|cette|del|de|of|for|says|said|told|added|explained|wrote|tweeted|posted)\b)"
)
_INV_VERBS = _alternation(
    _words("said says added asked wrote explained noted continued recalled insisted warned argued replied")
    + _FR_VERBS
    + _ES_VERBS
)
# The patterns are tried only where a subject can start: at the start of the sentence and after
# a comma, semicolon, colon, closing quotation mark or dash (_ANCHOR_RE), which is far cheaper
# than searching every position.
_ANCHOR_RE = re.compile(r"[,;:”\"»—]+\s*")
# « ... », a-t-elle déclaré / ajoute-t-il / dit-elle (tried at each anchor)
_FR_PRONOUN_RE = re.compile(r"[,;:”\"»—]+\s*(?:a|avait|[a-zéèêîôûç]+)(?:-t)?-(?P<who>il|elle)\b")
# "..., said Maria Lopez, the minister" / "», a déclaré le vice-président ..., Marc Dubois" /
# "», dijo su portavoz, Carmen Vidal" / "», declaró a este diario Lucía Moreno" / "», aseguró."
_INVERTED_RE = re.compile(
    rf"[,;:”\"»—]+\s*(?:a\s+|avait\s+)?(?:{_INV_VERBS})\b(?:\s+a\s+(?:este|ese|un|una|la|el|los)\s+\w+)?"
    rf"(?:\s+(?:(?:{_DET}\s+{_APPOSITION}|(?:{_NAME}\s+)?(?:[{_LOW}][\w-]*\s+){{0,2}}(?:{_ROLE_WORDS})),\s+(?P<named>{_NAME})"
    rf"|(?:{_ROLE_PREFIX})?(?P<who>{_NAME}|{_NP}){_NP_END})|(?P<none>\s*(?:[—.,;]|$)))"
)  # fmt: skip
# Its president, Ruth Adeyemi, said / La ministra de Vivienda, Isabel Navarro, presentó
_APPOSED_RE = re.compile(rf"{_DET}\s+{_APPOSITION},\s+(?P<who>{_NAME}),{_AFTER_SUBJECT}")
# Steven Willoughby, a senior official in ..., said / Dr. Oliver Grant, who chairs ..., said
_APPOSITIVE_RE = re.compile(rf"(?P<who>{_NAME}),\s+{_APPOSITION},{_AFTER_SUBJECT}")
# Sheinbaum said that / “...,” she said / ..., the ministry said / Asked about X, Sheinbaum said
_SUBJECT_RE = re.compile(rf"(?:”\s*)?{_SUBJECT}{_AFTER_SUBJECT}")
# According to X, ... / ..., according to X. / Selon l’Insee / según datos del Secretariado
_ACCORDING_RE = re.compile(
    r"(?:[Aa]ccording\s+to|[Ss]elon|[Ss]egún|[Dd]’après|[Dd]'après)\s+(?P<who>[^,;“”\"«»]{1,80}?)"
    r"(?=\s*(?:,|;|[.!?]?[”\"»]?\s*$))"
)
# Pour le président du Conseil ..., Pierre Laurent, les projections ...
_POUR_RE = re.compile(rf"[Pp]our\s+(?:le|la|l’|l')\s*{_APPOSITION},\s+(?P<who>{_NAME}),")

_SAID_RE = re.compile(r"\b(?:said|says|dijo|a\s+déclaré|a\s+dit)\b")
# A quotation introduced by a verb of saying: the sentence has a speaker, named or not.
_SPEECH_INTRO_RE = re.compile(r"\b(?:said|says|told\s+[\w ]{1,30}?|added|wrote|dijo|a\s+déclaré)\s*[:,]?\s*[“\"«]")
# Every pattern needs one of these words: most sentences have none, and a set lookup of their
# words is far cheaper than any search.
_CUE_WORDS = frozenset(
    [*_EN_VERBS, *_FR_VERBS, *_ES_VERBS, "according", "According", "selon", "Selon", "según", "Según", "après",
     "il", "elle", "Pour"]
)  # fmt: skip
_LETTERS_RE = re.compile(r"[^\W\d_]+")


def cue_words(words: Iterable[str]) -> frozenset[str]:
    """The reporting verbs and "according to" & co. among a sentence's words (runs of letters).

    A sentence without any gets no attribution of its own: :func:`attribute` skips it.
    """
    return _CUE_WORDS.intersection(words)


def _cue_words(sentence: str) -> frozenset[str]:
    return cue_words(_LETTERS_RE.findall(sentence))


_LEADING_ARTICLE_RE = re.compile(
    rf"^(?:[Tt]he|[Ll]a|[Ll]e|[Ll]es|[Ee]l|[Ll]os|[Ll]as)\s+(?=[{_UP}@])|^[Ll][’'](?=[{_UP}])"
)
_SOURCE_PREFIX_RE = re.compile(
    r"^(?:(?:official\s+|new\s+|the\s+latest\s+|provisional\s+)?(?:figures|data|numbers|statistics|estimates)|"
    r"(?:a|an|the)\s+(?:new\s+|recent\s+|latest\s+)?(?:report|statement|study|survey|analysis|filing)|"
    r"(?:los\s+)?datos|(?:las\s+)?cifras|(?:un|el)\s+informe|(?:les\s+)?chiffres|(?:les\s+)?données|(?:un|le)\s+rapport)"
    r"\s+(?:(?:published|released|compiled|issued|provided)\s+)?(?:by|from|of|del|de\s+la|de|du|de\s+l’|des)\s+"
)
_TRAILING_TIME_RE = re.compile(
    r"\s+(?:on|last|this|in|el|le|ce|du)\s+[\w-]+(?:\s+(?:morning|afternoon|evening|week|month|year))?$"
)
_POSSESSIVE_RE = re.compile(r"[’']s?$")

PERSON, INSTITUTION, PRONOUN, ROLE, NULL_SUBJECT, UNNAMED = range(6)


def _first_person_name(tokens: list[str]) -> tuple[int, str | None]:
    """Index where a person's name starts after any titles, and the gender the titles give."""
    gender = None
    start = 0
    for i, tok in enumerate(tokens):
        low = tok.lower()
        if low in _TITLES:
            gender = _TITLES[low] or gender
            start = i + 1
    return start, gender


def _name_gender(first: str) -> str | None:
    low = first.lower().translate(_DEACCENT)
    if low in _FEMALE:
        return "f"
    if low in _MALE:
        return "m"
    return None


_DEACCENT = str.maketrans("áàâäãéèêëíìîïóòôöõúùûüçñ", "aaaaaeeeeiiiiooooouuuucn")


def _classify(phrase: str, at_start: bool) -> tuple[int, str | None, str | None]:
    """``(kind, text, detail)`` for a captured subject: a name, an institution, a pronoun, a role...

    ``detail`` is the gender of a pronoun, the head word of a role, or ``"start"`` for a
    one-word name that opens the sentence (where a capital says nothing).
    """
    phrase = phrase.strip(" ,.;:")
    if not phrase:
        return UNNAMED, None, None
    low = phrase.lower()
    if low in _MASCULINE:
        return PRONOUN, None, "m"
    if low in _FEMININE:
        return PRONOUN, None, "f"
    words = phrase.split()
    name = _LEADING_ARTICLE_RE.sub("", phrase)
    if name[0].isupper() and not (len(words) > 1 and words[0].lower() in _DETERMINERS and words[1][0].islower()):
        tokens = name.split()
        for k, tok in enumerate(tokens[1:], start=1):  # "BBC's Tomi Oladipo in Lagos": the name ends at "in"
            if tok[0].islower() and tok not in _CONNECT_WORDS:
                low_tok = tok.lower()
                if low_tok in _UNNAMED:  # "The Iraqi official said"
                    return UNNAMED, None, None
                if low_tok in _ROLE_GENDER:  # "the Energy minister"
                    return ROLE, phrase, low_tok
                if low_tok in _INSTITUTIONS:  # "the Health ministry", "The Israeli newspaper Haaretz"
                    after = tokens[k + 1 :]
                    if after and after[0][0].isupper():
                        return _classify(" ".join(after), False)
                    return INSTITUTION, " ".join(words[: k + 1 + len(words) - len(name.split())]), None
                if low_tok not in _PREPOSITIONS:  # "the Jobs biopic", "Iraqi media reports": things, not names
                    return UNNAMED, None, None
                tokens = tokens[:k]
                name = " ".join(tokens)
                break
        first = re.split("[’']", tokens[0].lower())[0]  # "They've"
        if first in _NOT_NAMES or (first in _UNNAMED and first not in _TITLES):
            return UNNAMED, None, None
        if _POSSESSIVE_RE.search(tokens[-1]):
            return UNNAMED, None, None  # "Lopez’s claims": a possessive is not a subject
        start, _ = _first_person_name(tokens)
        if start == len(tokens):  # "Minister defends ...": a title alone is a role
            return ROLE, name, tokens[-1].lower()
        head, sep, _ = name.partition(" of ")
        if sep and any(_name_gender(t) for t in head.split()[1:] or head.split()):
            name = head  # "Brian Kowalski of Stanton Research": the person, not the firm
        one_word = at_start and len(tokens) == 1 and not _LEADING_ARTICLE_RE.match(phrase)
        return PERSON, name, "start" if one_word else None
    # a noun phrase in lower case: its head is the first role, institution or unnamed word
    det = words[0].lower().rstrip("’'")
    skip = 1 if det in _DETERMINERS else 0
    definite = det in _DEFINITE
    for i in range(skip, len(words)):
        lw = words[i].lower()
        rest = words[i + 1 :]
        if _POSSESSIVE_RE.search(lw) and lw not in _INSTITUTIONS:
            continue  # "the mayor’s office": the office speaks
        if lw in _DOCUMENTS and rest and rest[0].lower() in {"by", "from", "of", "de", "del", "du", "des"}:
            return _classify(" ".join(rest[1:]), False)  # "a study by the University of X"
        if lw in _ROLE_GENDER or lw in _INSTITUTIONS:
            if rest and rest[0][0].isupper():  # "the company SoundThinking", "the economist Sofia Lindqvist"
                return _classify(" ".join(rest), False)
            if not definite and skip:
                return UNNAMED, None, None  # "a spokesman", "a company spokesman"
            if lw in _ROLE_GENDER:
                return ROLE, " ".join(words), lw
            end = i + 1  # "La métropole de Lyon"
            while end < len(words) and (words[end][0].isupper() or words[end].lower() in _CONNECT_WORDS):
                end += 1
            while end > i + 1 and words[end - 1].lower() in _CONNECT_WORDS:
                end -= 1
            return INSTITUTION, " ".join(words[:end]), None
        if lw in _UNNAMED:
            return UNNAMED, None, None
    return UNNAMED, None, None


_PREPOSITIONS = frozenset(_words("in at from for with on of to by during after before about"))
_MASCULINE = frozenset({"he", "il", "lui", "él"})
_FEMININE = frozenset({"she", "elle", "ella"})
_DETERMINERS = frozenset(_words("the a an its their his her la le les el los las un una une su sus l"))
_DEFINITE = frozenset(_words("the its their his her la le les el los las su sus l"))
_DOCUMENTS = frozenset(
    _words("report statement study survey poll analysis document filing informe estudio encuesta sondage rapport étude")
)


def _direct(sentence: str, cue: frozenset[str] | None = None) -> tuple[int, str | None, str | None] | None:
    """The attribution written in the sentence itself, or None when there is none.

    ``cue`` holds the sentence's cue words (:func:`cue_words`): the patterns are then tried only
    where a subject can end just before one of them. Without it they are tried at every start
    (``tests/test_segment.py`` checks both give the same answers).
    """
    runs = [m.span() for m in _ANCHOR_RE.finditer(sentence)]  # punctuation runs, with their spaces
    anchors = [a for a, _ in runs]
    starts = [0, *(b for _, b in runs)]
    # a subject ends just before its verb: try only the starts a little before one
    if cue is None:
        near = farther = starts
    else:
        verbs = []
        for word in cue:
            at = sentence.find(word)
            while at >= 0:
                verbs.append(at)
                at = sentence.find(word, at + 1)
        verbs.sort()
        near, farther = [], []
        for s in starts:
            k = bisect.bisect_right(verbs, s)  # the first cue word after s
            if k < len(verbs):
                if verbs[k] - s <= _SUBJECT_REACH:
                    near.append(s)
                if verbs[k] - s <= _APPOSITION_REACH:
                    farther.append(s)
    attempts: list[tuple[re.Pattern[str], list[int]]] = []
    if "-il" in sentence or "-elle" in sentence:
        attempts.append((_FR_PRONOUN_RE, anchors))
    attempts += [(_INVERTED_RE, anchors), (_APPOSED_RE, farther), (_APPOSITIVE_RE, farther), (_SUBJECT_RE, near)]
    unnamed = None
    for pattern, positions in attempts:
        for pos in positions:
            m = pattern.match(sentence, pos)
            if m is None:
                continue
            groups = m.groupdict()
            if groups.get("none") is not None:
                return NULL_SUBJECT, None, None
            group = "named" if groups.get("named") else "who"
            if not groups.get(group):
                continue
            result = _classify(groups[group], m.start(group) == 0)
            if result[0] != UNNAMED:
                return result
            unnamed = result
    # "“...,” the leader of the Church said, according to Time": the speaker is unnamed, not Time
    according = any(w in sentence for w in ("ccording", "elon", "egún", "après")) and not _SAID_RE.search(sentence)
    for m in _ACCORDING_RE.finditer(sentence) if according else ():
        who = _TRAILING_TIME_RE.sub("", _SOURCE_PREFIX_RE.sub("", m.group("who").strip()))
        result = _classify(who, False)
        if result[0] != UNNAMED:
            return result
        unnamed = result
    if sentence[:4] in ("Pour", "pour"):
        m = _POUR_RE.match(sentence)
        if m:
            return _classify(m.group("who"), False)
    if unnamed is None and _SPEECH_INTRO_RE.search(sentence):
        return UNNAMED, None, None  # "One of his friends ... said: “...": someone speaks, unnamed here
    return unnamed


# --- the document: people, their gender and roles, built only when a rule needs them -----------

_QUOTED_RE = re.compile(r"“[^”]*(?:”|$)|«[^»]*(?:»|$)|\"[^\"]*(?:\"|$)")  # replaced by "; "
_QUOTE_TAIL_RE = re.compile(r"^[^“«]*[”»]")  # a quotation that began in an earlier sentence
_NAME_RE = re.compile(_NAME)
# People named by a common noun: a pronoun may point to them, so they make it ambiguous.
_PERSON_NOUNS = {
    **dict.fromkeys(_words("man boy father son husband brother uncle grandfather gentleman king prince"), "m"),
    **dict.fromkeys(_words("woman girl mother daughter wife sister aunt grandmother lady queen princess"), "f"),
    **dict.fromkeys(
        _words(
            """
            person prisoner hostage captive suspect victim officer soldier driver pilot doctor nurse patient
            teacher student worker resident witness journalist reporter lawyer teenager child friend neighbour
            neighbor owner customer passenger survivor gunman attacker
            """
        ),
        None,
    ),
}
_PERSON_NOUN_RE = re.compile(
    rf"\b(?:[Tt]he|[Aa]n?|[Hh]is|[Hh]er|[Tt]heir)\s+(?:[a-z-]+\s+)?({'|'.join(_PERSON_NOUNS)})\b"
)
_ROLE_MENTION_RE = re.compile(rf"\b(?:the|la|le|el|l’|l')\s*(?:[{_LOW}]+\s+){{0,2}}?(?P<role>{_ROLE_WORDS})\b")


class _Person:
    __slots__ = ("key", "genders", "names", "evidence")

    def __init__(self, key: str) -> None:
        self.key = key
        self.genders: set[str] = set()
        self.names: set[str] = set()  # full names without titles: "Maria Lopez"
        self.evidence = False  # a title, a known first name or a role says this is a person

    @property
    def gender(self) -> str | None:
        return next(iter(self.genders)) if len(self.genders) == 1 else None

    @property
    def display(self) -> str:
        return max(self.names, key=len) if self.names else self.key


class _Document:
    """People mentioned in a document, with gender and roles; built on first use."""

    def __init__(self, sentences: Sequence[str], in_quote: Sequence[bool]) -> None:
        self.sentences = sentences
        self.in_quote = in_quote
        self.built = False
        self.spoke: set[str] = set()  # keys of names of two words or more that were a speaker
        self.text: str | None = None

    def build(self) -> None:
        if self.built:
            return
        self.built = True
        self.people: dict[str, _Person] = {}
        self.mentions: list[list[tuple[str, str]]] = []  # per sentence: (key, surface) outside quotes
        self.roles: list[tuple[str, str, str]] = []  # (role head, role phrase, key)
        self.outside: list[str] = []  # the sentences with their quotations blanked out
        for sentence, quoted in zip(self.sentences, self.in_quote, strict=True):
            text = sentence
            if _QUOTE_CHARS.intersection(sentence):
                text = _QUOTED_RE.sub("; ", _QUOTE_TAIL_RE.sub("; ", text) if quoted else text)
            self.outside.append(text)
            found: list[tuple[str, str]] = []
            for m in _NAME_RE.finditer(text):
                if m.group() in _NEVER_NAMES:  # "The", "But", "Monday": most capitals are not names
                    continue
                mention = self._mention(m.group(), text, m.start(), m.end())
                if mention:
                    found.append(mention)
            self.mentions.append(found)

    def _mention(self, surface: str, text: str, start: int, end: int) -> tuple[str, str] | None:
        """Record a capitalised name, with what its titles and surroundings say: ``(key, name)``."""
        tokens = surface.split()
        if len(tokens) > 1 and tokens[0] in _ARTICLES:
            tokens = tokens[1:]
        if tokens[0].lower() in _NOT_NAMES:
            tokens = tokens[1:]
            if not tokens:
                return None
        roles = self._roles_around(text, start, end)
        if len(tokens) == 1 and not roles:  # a surname alone says nothing more about its person
            return None if tokens[0].lower() in _TITLES else (_strip_possessive(tokens[0]), tokens[0])
        first, gender = _first_person_name(tokens)
        name = [t for t in tokens[first:] if not t.startswith("(")]
        if not name or any(_strip_possessive(t).rstrip(".").lower() in _INSTITUTIONS for t in name):
            return None
        for k, tok in enumerate(name[:-1]):  # "of State Marco Rubio": the name starts at a first name
            if _name_gender(tok):
                name = name[k:]
                break
        if not name[0][0].isupper():
            return None
        key = _strip_possessive(name[-1])
        person = self.people.get(key)
        if person is None:
            person = self.people[key] = _Person(key)
        evidence = first > 0
        if gender:
            person.genders.add(gender)
        if len(name) >= 2:
            g = _name_gender(name[0])
            if g:
                person.genders.add(g)
                evidence = True
            person.names.add(" ".join(name))
        roles += [(t.lower(), " ".join(tokens[:first]).lower()) for t in tokens[:first] if t.lower() in _ROLE_GENDER]
        for head, phrase in roles:
            if _ROLE_GENDER[head]:
                person.genders.add(_ROLE_GENDER[head])
            self.roles.append((head, phrase, key))
            evidence = True
        person.evidence = person.evidence or evidence
        return key, " ".join([*tokens[:-1], _strip_possessive(tokens[-1])])

    @staticmethod
    def _roles_around(text: str, start: int, end: int) -> list[tuple[str, str]]:
        """Roles written next to a name: ``[(head, phrase)]``."""
        roles: list[tuple[str, str]] = []
        if start > 1 and text[start - 1] == " ":
            if text[start - 2] == ",":
                if text[end : end + 1] in ",.":
                    # "The housing minister, Maria Lopez, said", "le vice-président chargé des mobilités, Marc Dubois."
                    words = text[max(0, start - 120) : start - 2].rsplit(",", 1)[-1].rsplit(";", 1)[-1].split()
                    roles += _apposed_role(words, before_name=True)
            elif text[start - 2].isalpha():
                # "Opposition housing spokesman Daniel Okafor", "Le député socialiste Julien Mercier"
                cut = text.rfind(" ", 0, start - 1)
                prev = text[cut + 1 : start - 1]
                low = prev.lower()
                if low in _ROLE_GENDER:
                    roles.append((low, text[max(0, cut - 40) : start - 1].lower().split(",")[-1].strip()))
                elif prev[0].islower() and low not in _NOT_NAMES and low not in _CONNECT_WORDS and cut > 0:
                    cut2 = text.rfind(" ", 0, cut)
                    prev2 = text[cut2 + 1 : cut].lower()
                    if prev2 in _ROLE_GENDER:
                        roles.append((prev2, text[max(0, cut2 - 40) : start - 1].lower().split(",")[-1].strip()))
        if text.startswith(", ", end):
            # "Maria Lopez, the housing minister, has promised", "Sophie Garnier, secrétaire générale"
            roles += _apposed_role(text[end + 2 : end + 90].split(",", 1)[0].split(), before_name=False)
        return roles

    def person(self, key: str) -> _Person | None:
        p = self.people.get(key)
        return p if p is not None and p.evidence else None

    def key_of(self, speaker: str | None) -> str | None:
        if not speaker:
            return None
        tokens = [t for t in speaker.split() if not t.startswith("(")]
        key = _POSSESSIVE_RE.sub("", tokens[-1]) if tokens else ""
        return key if self.person(key) else None

    def known(self, token: str) -> bool:
        """Whether a capitalised word that starts a sentence is a name: seen capitalised elsewhere."""
        if token.isupper() or self.person(token) is not None:
            return True
        if self.text is None:
            self.text = "\n".join(self.sentences)
        return re.search(rf"(?<=[^\s.!?:“«\"—])[ \t]+{re.escape(token)}\b", self.text) is not None

    def by_role(self, head: str, phrase: str) -> _Person | None:
        keys = {key for h, _p, key in self.roles if h == head}
        if len(keys) > 1:  # "the housing minister" among several ministers
            mods = [w for w in phrase.lower().split() if w not in _DETERMINERS and w != head]
            keys = {key for h, p, key in self.roles if h == head and all(w in p for w in mods)}
        return self.people[next(iter(keys))] if len(keys) == 1 else None

    def candidates(self, j: int, speakers: list[str | None]) -> list[tuple[str, str, bool]]:
        """People a pronoun could point back to in sentence ``j``: ``(key, surface, unsure)``.

        ``unsure`` marks a name that spoke somewhere in the article but that nothing shows to be a
        person ("Toru Tanaka said", "Northvale Semiconductors said"): it can make a pronoun
        ambiguous, never receive it.
        """
        out: list[tuple[str, str, bool]] = []
        key = self.key_of(speakers[j])
        if key and speakers[j] is not None:
            out.append((key, speakers[j], False))  # the sentence's speaker first
        for k, surface in self.mentions[j]:
            if self.person(k):
                out.append((k, surface, False))
            elif k in self.spoke:
                out.append((k, surface, True))
        for m in _ROLE_MENTION_RE.finditer(self.outside[j]):
            p = self.by_role(m.group("role").lower(), m.group(0))
            if p is not None:
                out.append((p.key, p.display, False))
        for m in _PERSON_NOUN_RE.finditer(self.outside[j]):  # "a statement from the prisoner"
            noun = m.group(1).lower()
            out.append((f"\x00{noun}", noun, True))
        return out


def _apposed_role(words: list[str], before_name: bool) -> list[tuple[str, str]]:
    """The role in the words set off by commas around a name, if they name one: ``[(head, phrase)]``.

    Before the name the role needs a determiner or a possessive just before it ("Its president",
    "The port authority’s chair", "le vice-président chargé des mobilités"); after it, it must come
    within the first words ("the housing minister", "secrétaire générale de la CGT").
    """
    for k, w in enumerate(words[:12] if before_name else words[:4]):
        low = w.lower()
        if low not in _ROLE_GENDER or not w[0].islower():
            continue
        if not before_name and k > 0 and not (words[0].lower() in _DETERMINERS or _POSSESSIVE_RE.search(words[0])):
            return []
        if before_name:
            near = [x.lower() for x in words[max(0, k - 2) : k]]
            if not any(x in _DETERMINERS or _POSSESSIVE_RE.search(x) for x in near):
                return []
            return [(low, " ".join(words[max(0, k - 3) :]).lower())]
        return [(low, " ".join(words).lower())]
    return []


def _strip_possessive(token: str) -> str:
    if token.endswith(("’s", "'s")):
        return token[:-2]
    return token.rstrip("’'")


_NEVER_NAMES = frozenset(
    [w.capitalize() for w in _NOT_NAMES]
    + _words(
        """
        Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March April June
        July August September October November December
        """
    )
)
_ARTICLES = frozenset(_words("The La Le Les El Los Las"))
_QUOTE_CHARS = frozenset('“”«»"')
_CONNECT_WORDS = frozenset(_words("de del la las los van von der den al bin of for du des d’ d' y e da dos do di le"))
_LOOK_BACK = 8  # sentences a pronoun may reach back
_SUBJECT_REACH = 120  # characters from where a subject starts to its verb, at most
_APPOSITION_REACH = 300  # the same for "X, a ... official, said"
_QUOTE_REACH = 4  # sentences away a quoted sentence may find its paragraph's attribution, at most


def _resolve_pronoun(doc: _Document, i: int, gender: str, speakers: list[str | None]) -> str | None:
    doc.build()
    for j in range(i - 1, max(-1, i - 1 - _LOOK_BACK), -1):
        fits: dict[str, tuple[str, bool]] = {}
        for key, surface, unsure in doc.candidates(j, speakers):
            if key[0] == "\x00":  # a person named by a common noun: "the prisoner", "the woman"
                g = _PERSON_NOUNS[surface]
            elif unsure:
                g = None
            else:
                g = doc.people[key].gender
            if g is None or g == gender:
                fits.setdefault(key, (surface, unsure))
        if not fits:
            continue
        if len(fits) == 1:
            surface, unsure = next(iter(fits.values()))
            return None if unsure else surface
        own = doc.key_of(speakers[j])
        if own in fits and doc.people[own].gender == gender:
            return speakers[j]
        return None
    return None


def attribute(
    sentences: Sequence[str],
    paragraphs: Sequence[int] | None = None,
    in_quote: Sequence[bool] | None = None,
    cues: Sequence[frozenset[str]] | None = None,
) -> list[str | None]:
    """One speaker hint (or ``None``) per sentence of a document, in order.

    ``paragraphs`` gives each sentence's paragraph number and ``in_quote`` whether it is mostly
    inside quotation marks (as :mod:`annotate.segment` computes them); without them every
    sentence is its own paragraph and none is quoted. ``cues`` says which sentences hold a
    reporting cue, and which (:func:`cue_words`; ingest has the words at hand), computed when
    not given.

    >>> attribute(["Maria Lopez, the housing minister, spoke first.", "Daniel Okafor disagreed.",
    ...            "“They have failed,” he said.", "“We have not,” the minister said."])
    [None, 'Daniel Okafor', 'Daniel Okafor', 'Maria Lopez']
    """
    n = len(sentences)
    paragraphs = paragraphs if paragraphs is not None else range(n)
    in_quote = in_quote if in_quote is not None else [False] * n
    doc = _Document(sentences, in_quote)
    speakers: list[str | None] = [None] * n
    attributed = [False] * n
    for i, sentence in enumerate(sentences):
        cue = cues[i] if cues is not None else _cue_words(sentence)
        if not cue:
            continue
        hit = _direct(sentence, cue)
        if hit is None:
            continue
        attributed[i] = True
        kind, text, detail = hit
        if kind == PERSON:
            if detail == "start":
                doc.build()
                if not doc.known(text):  # "Chipmaker blames ...": a capital that only starts the sentence
                    continue
            speakers[i] = text
            words = [w for w in text.split() if not w.startswith("(")]
            if len(words) >= 2:
                doc.spoke.add(_POSSESSIVE_RE.sub("", words[-1]))
        elif kind == INSTITUTION:
            speakers[i] = text
        elif kind == PRONOUN:
            speakers[i] = _resolve_pronoun(doc, i, detail, speakers)
        elif kind == ROLE:
            doc.build()
            person = doc.by_role(detail, detail)
            speakers[i] = person.display if person else None
        elif kind == NULL_SUBJECT and i > 0 and paragraphs[i - 1] >= paragraphs[i] - 1:
            speakers[i] = speakers[i - 1]
    # A quoted sentence without its own attribution takes the attribution nearest to it in its
    # paragraph, earlier first ("“It’s an exchange,” she said. “It’s not that ...”"), at most
    # _QUOTE_REACH sentences away, and only where the paragraph's quotation marks pair up (a live
    # blog pasted as one line, with a stray mark, would lend its speakers to everything).
    balanced: dict[int, bool] = {}
    for i in range(n):
        if attributed[i] or not in_quote[i]:
            continue
        p = paragraphs[i]
        if p not in balanced:
            text = " ".join(s for s, q in zip(sentences, paragraphs, strict=True) if q == p)
            balanced[p] = (
                text.count("“") == text.count("”") and text.count("«") == text.count("»") and text.count('"') % 2 == 0
            )
        if not balanced[p]:
            continue
        for step in (-1, 1):
            j = i + step
            while 0 <= j < n and paragraphs[j] == p and not attributed[j] and abs(j - i) < _QUOTE_REACH:
                j += step
            if 0 <= j < n and paragraphs[j] == p and attributed[j]:
                if _QUOTE_CHARS.intersection(sentences[j]):  # it attributes a quotation: not "According to X, ..."
                    speakers[i] = speakers[j]
                break
    return speakers
