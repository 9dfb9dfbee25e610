"""Speaker attribution: the hand-checked set's precision and recall, then one test per rule.

The set (``tests/data/speakers``, see ``tests/speakers_gold.py``) holds 225 sentences of eleven
articles, 175 of them with an expected speaker. The rule tests are short paragraphs in the style
of those articles; each one says which failure of the first attribution (issue 14) it pins down.
"""

from __future__ import annotations

import pytest

from annotate.corpus import Document
from annotate.segment import segment
from tests.speakers_gold import load_gold, predictions, score

# Measured on the set (docs/speakers.md): issue 14 asks for 0.97 and 0.85; the floors are the
# measured figures, so a change that adds one wrong name, or costs two right ones, fails here.
PRECISION_FLOOR = 1.0  # measured: 171 of 171 named speakers right
RECALL_FLOOR = 0.97  # measured: 171 of 175 (0.977); one more miss still passes, two fail


@pytest.fixture(scope="module")
def gold():
    return load_gold()


def test_the_set_is_big_enough_and_every_sentence_is_checked(gold):
    docs, items = gold
    named = [i for i in items if i.expected not in (None, "?")]
    assert len(named) >= 150
    assert {d.language for d in docs} >= {"en", "fr", "es"}
    assert sum(1 for i in items if i.expected is None) >= 40  # sentences where None is the answer


def test_precision_and_recall_on_the_hand_checked_set(gold):
    docs, items = gold
    result = score(items, predictions(docs, segment))
    wrong = [f"{i.doc_id}: {i.text[:70]!r} -> {got!r}, expected {i.expected!r}" for i, got in result.wrong]
    assert result.precision >= PRECISION_FLOOR, f"{result}\n" + "\n".join(wrong)
    assert result.recall >= RECALL_FLOOR, f"{result}\n" + "\n".join(
        f"{i.doc_id}: {i.text[:70]!r}, expected {i.expected!r}" for i in result.missed
    )


def speakers(text: str, language: str = "en") -> dict[str, str | None]:
    """``{sentence: speaker}`` for a small document."""
    return {s.text: s.speaker for s in segment(Document(doc_id="t", text=text, language=language))}


def speaker_of(text: str, prefix: str, language: str = "en") -> str | None:
    hits = [who for s, who in speakers(text, language).items() if s.startswith(prefix)]
    assert len(hits) == 1, (prefix, speakers(text, language))
    return hits[0]


# --- pronouns agree in gender with their antecedent ---------------------------------------

REBUTTAL = (
    "Opposition housing spokesman Daniel Okafor accused the government of counting homes that had not been started.\n"
    "“They are counting holes in the ground as houses,” he said.\n"
    "Housing Minister Maria Lopez rejected the claim.\n"
    "“Every one of those homes has a contract,” she said.\n"
    "She added that 31,000 homes were under construction.\n"
)


def test_she_goes_to_the_woman_not_to_the_last_named_man():
    # issue 14: "in 7 of the 8, the minister's rebuttal was credited to her critic"
    assert speaker_of(REBUTTAL, "“They are counting") == "Daniel Okafor"
    assert speaker_of(REBUTTAL, "Housing Minister Maria Lopez rejected") == "Housing Minister Maria Lopez"
    assert speaker_of(REBUTTAL, "“Every one of those") == "Housing Minister Maria Lopez"
    assert speaker_of(REBUTTAL, "She added") == "Housing Minister Maria Lopez"


def test_he_skips_a_woman_named_in_between():
    text = (
        "Finance Minister Thomas Berger said the rebate would return most of the money.\n"
        "Economist Sofia Lindqvist argued that heating costs would rise by twice that amount.\n"
        "Berger insisted the rebate was designed for exactly those households.\n"
        "Lindqvist noted that the model assumed no change in habits.\n"
        "“Nobody in the lowest income band will be worse off,” he said.\n"
    )
    assert speaker_of(text, "“Nobody in the lowest") == "Berger"


@pytest.mark.parametrize(
    ("text", "prefix", "expected"),
    [
        # a title gives the gender when the first name is not on the list
        ("Mr. Tanaka said the members had accepted the offer.\nSiobhan Kelly disagreed.\n“We wanted more,” he said.",
         "“We wanted more", "Mr. Tanaka"),
        ("Ms. Adeyemi said builders wait 90 days.\nMr. Okafor disagreed.\n“Some will not survive,” she said.",
         "“Some will not", "Ms. Adeyemi"),
        ("Mrs. Brooks said she had waited 19 months.\nHer surgeon, Oliver Grant, was away.\n“Nobody called,” she said.",
         "“Nobody called", "Mrs. Brooks"),
    ],
)  # fmt: skip
def test_titles_give_the_gender(text, prefix, expected):
    assert speaker_of(text, prefix) == expected


def test_a_pronoun_with_two_possible_antecedents_gets_none():
    text = (
        "Toru Tanaka, who leads the dockworkers’ union, said the members had accepted the offer.\n"
        "Tanaka and the port’s operations director, Mark Hughes, met again on Saturday.\n"
        "“It was a long night, but we have a plan,” he said.\n"
    )
    assert speaker_of(text, "“It was a long night") is None


def test_a_pronoun_never_resolves_to_an_institution():
    text = (
        "The government said on Monday that the budget would not be cut.\n"
        "“There is no cut, and there will be no cut,” she said.\n"
        "The ministry said the difference came from late projects.\n"
        "“We publish the list every quarter,” he said.\n"
    )
    got = speakers(text)
    assert got["The government said on Monday that the budget would not be cut."] == "The government"
    assert got["“There is no cut, and there will be no cut,” she said."] is None
    assert got["“We publish the list every quarter,” he said."] is None


# --- institutions and unnamed sources ---------------------------------------------------------


@pytest.mark.parametrize(
    "sentence",
    [
        "Officials said the rebate would be paid automatically.",
        "“We have not asked for anything,” said a company spokesman.",
        "A spokesperson for the Treasury said it would not comment.",
        "They said the timing was “the worst possible.”",
        "According to a person familiar with the negotiations, the company asked for more money.",
        "The plan also called for a 30 km/h limit on the approach roads.",
        "Residents were told to expect delays on the ring road.",
    ],
)
def test_unnamed_sources_and_other_uses_of_the_verbs_get_none(sentence):
    assert speakers(sentence) == {sentence: None}


# --- "the minister said": the person introduced with that role ------------------------------


@pytest.mark.parametrize(
    "intro",
    [
        "Maria Lopez, the housing minister, has promised to cut payment times to 30 days.",
        "Housing Minister Maria Lopez has promised to cut payment times to 30 days.",
        "The housing minister, Maria Lopez, has promised to cut payment times to 30 days.",
    ],
)
def test_the_minister_said_resolves_to_the_minister_introduced_earlier(intro):
    text = intro + "\nBuilders welcomed the promise.\n“We have heard the builders,” the minister said on Tuesday."
    assert speaker_of(text, "“We have heard") in {"Maria Lopez", "Housing Minister Maria Lopez"}


def test_the_minister_said_with_no_minister_introduced_gets_none():
    assert speaker_of("“We have heard the builders,” the minister said.", "“We have heard") is None


# --- the patterns the first attribution missed -------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("“There is no cut, and there will be no cut,” said Maria Lopez, the housing minister.", "Maria Lopez"),
        ("“The rebate will return most of that money to families,” said Berger, who has led the ministry since 2022.",
         "Berger"),
        ("“This is the best news in a decade,” said Tom Becker of the Westbrook Cycling Campaign.", "Tom Becker"),
    ],
)  # fmt: skip
def test_inverted_said_x(sentence, expected):
    assert speakers(sentence) == {sentence: expected}


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("Construction costs rose by about 9% over the same period, according to the Builders’ Federation.",
         "Builders’ Federation"),
        ("Emissions from buildings fell 4% last year, according to Anna Keller, who leads the Green party.",
         "Anna Keller"),
        ("According to the National Statistics Office, building permits rose 14% in the first half.",
         "National Statistics Office"),
    ],
)  # fmt: skip
def test_according_to_at_either_end(sentence, expected):
    assert speakers(sentence) == {sentence: expected}


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("Its president, Ruth Adeyemi, said the industry could deliver the homes.", "Ruth Adeyemi"),
        ("Their director, Sofia Lindqvist, argued that heating costs would rise.", "Sofia Lindqvist"),
        ("The study’s lead author, Dr. Nadia Karim, explained that drivers change their routes.", "Dr. Nadia Karim"),
    ],
)
def test_its_president_x_said(sentence, expected):
    assert speakers(sentence) == {sentence: expected}


@pytest.mark.parametrize(
    "sentence",
    [
        "Daniel Okafor reported that 24,500 homes had been started.",
        "Daniel Okafor denied that the figures had been changed.",
        "Daniel Okafor accused the minister of counting permits as homes.",
        "Daniel Okafor questioned whether the homes had been started.",
        "Daniel Okafor called the figures “a fantasy.”",
        "Daniel Okafor argued that the figures were inflated.",
        "Daniel Okafor insisted that no homes had been started.",
        "Daniel Okafor warned that rents would keep rising.",
        "Daniel Okafor added that the list had not been published.",
        "Daniel Okafor told reporters that the list had not been published.",
        "Daniel Okafor claimed that the list had been changed.",
        "Daniel Okafor stated that 24,500 homes had been started.",
        "Daniel Okafor noted that the ministry’s own report lists 24,500 starts.",
        "Daniel Okafor explained that a permit is not a home.",
        "Daniel Okafor announced that his party would publish its own list.",
        "Daniel Okafor rejected the minister’s figures.",
        "Daniel Okafor dismissed the minister’s figures as a fantasy.",
        "Daniel Okafor disputed the minister’s figures.",
    ],
)
def test_reporting_verbs(sentence):
    assert speakers(sentence) == {sentence: "Daniel Okafor"}


def test_quoted_sentences_take_the_speaker_of_their_paragraph():
    # kept from the first attribution: the quote's other sentences have no verb of their own
    text = "“Development requires energy. It also requires gas,” González said. “So we are guaranteeing it.”"
    got = speakers(text)
    assert got["“Development requires energy."] == "González"
    assert got["“So we are guaranteeing it.”"] == "González"


# --- French and Spanish -----------------------------------------------------------------------

RETRAITES = (
    "La ministre du Travail, Claire Morel, a défendu mardi la réforme.\n"
    "Le député socialiste Julien Mercier a dénoncé « un passage en force ».\n"
    "« Cette réforme est juste et elle est nécessaire », a-t-elle déclaré.\n"
    "« Le gouvernement n’a jamais voulu négocier », a affirmé M. Mercier.\n"
    "Selon l’Insee, 17,5 millions de personnes perçoivent une pension.\n"
    "« Nous irons jusqu’au bout », a déclaré la ministre.\n"
    "« La colère ne retombera pas », estime Sophie Garnier, secrétaire générale de la CGT.\n"
)


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("La ministre du Travail, Claire Morel", "Claire Morel"),
        ("« Cette réforme", "Claire Morel"),
        ("« Le gouvernement", "M. Mercier"),
        ("Selon l’Insee", "Insee"),
        ("« Nous irons", "Claire Morel"),
        ("« La colère", "Sophie Garnier"),
    ],
)
def test_french(prefix, expected):
    assert speaker_of(RETRAITES, prefix, "fr") == expected


VIVIENDA = (
    "La ministra de Vivienda, Isabel Navarro, presentó el martes un plan de alquiler.\n"
    "«Es el mayor esfuerzo público en vivienda», dijo Navarro en rueda de prensa.\n"
    "Según el Ministerio de Vivienda, el plan costará 2.400 millones de euros.\n"
    "«El Gobierno lleva cinco años prometiendo viviendas», afirmó el Sr. Sanz.\n"
    "La ministra respondió que 12.000 viviendas ya están en construcción.\n"
    "«Las cifras están publicadas», aseguró.\n"
    "Los jóvenes dedican el 60% de su sueldo al alquiler, según el Consejo de la Juventud.\n"
)


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("«Es el mayor", "Navarro"),
        ("Según el Ministerio", "Ministerio de Vivienda"),
        ("«El Gobierno lleva", "Sr. Sanz"),
        ("La ministra respondió", "Isabel Navarro"),
        ("«Las cifras", "Isabel Navarro"),
        ("Los jóvenes dedican", "Consejo de la Juventud"),
    ],
)
def test_spanish(prefix, expected):
    assert speaker_of(VIVIENDA, prefix, "es") == expected


# --- cases met in real news text (FNC-1 bodies, checked by hand; paraphrased here) -------------


@pytest.mark.parametrize(
    "sentence",
    [
        "Ilic called emergency services after he could not stop the bleeding.",  # a phone call
        "Google has agreed to lease the whole office campus.",  # a contract
        "The FBI has questioned a man who says he recorded the shots.",  # police questioning
        "Even with Bale, the Jobs biopic still faces questions over its audience.",  # a thing, named
        "The Iraqi official said that she is the sister of a suspect.",  # unnamed
        "Militants may have caught the virus, according to Iraqi media reports of cases.",
        "The caller, who gave only her first name, said Brown -- after running away -- turned around.",
    ],
)
def test_what_looks_like_an_attribution_but_names_no_speaker(sentence):
    assert speakers(sentence) == {sentence: None}


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("“We are aware of the reports,” said agency spokesperson Marsha Catron.", "Marsha Catron"),
        ("“He was always respectful,” said Coast Post news editor, Andree Lau, who knew him.", "Andree Lau"),
        ("Institute scientist Jose Millan said that the crater was 12 metres wide.", "Jose Millan"),
        ("The Israeli newspaper Haaretz reported that she had served two years in the army.", "Haaretz"),
        ("The BBC's Tomi Oladipo in Lagos says the video will embarrass the government.", "BBC's Tomi Oladipo"),
    ],
)
def test_the_person_behind_the_outlet_or_the_description(sentence, expected):
    assert speakers(sentence) == {sentence: expected}


def test_a_person_named_by_a_common_noun_makes_he_ambiguous():
    text = (
        "The video shows a clip of Obama’s announcement, followed by a statement from the prisoner.\n"
        "“I call on my friends to rise up against my real killers,” he says.\n"
    )
    assert speaker_of(text, "“I call on my friends") is None


def test_a_quote_reported_by_an_outlet_is_not_the_outlet_s():
    text = (
        "“We will see our animals again,” the leader of the Church said, according to Time. "
        "“Paradise is open to all creatures.”\n"
        "According to the network, young girls are asking for advice online. “I would do it,” one wrote.\n"
    )
    got = speakers(text)
    assert got["“We will see our animals again,” the leader of the Church said, according to Time."] is None
    assert got["“Paradise is open to all creatures.”"] is None
    assert got["“I would do it,” one wrote."] is None


def test_a_live_blog_line_with_a_stray_quotation_mark_lends_no_speaker():
    text = (
        "11:25 Pal: 'He was like a brother' According to the Post, he grew up in London. "
        'It is reported that he comes from a "well-to-do family. '
        'One of his friends, who asked not to be named, said: "I have no doubt it is him. I am sure.\n'
    )
    got = speakers(text)
    assert got['One of his friends, who asked not to be named, said: "I have no doubt it is him.'] is None
    assert got["I am sure."] is None
