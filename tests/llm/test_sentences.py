"""Sentence splitting in other languages than English: Chinese and Japanese marks, German ordinals, French elided
abbreviations and quotation marks, Spanish abbreviations and inverted marks."""

from __future__ import annotations

import pytest

from folio.llm._sentences import guess_language
from folio.llm.extractive import split_sentences


def sentences(text: str, language: str | None = None) -> list[str]:
    return [text[start:end] for start, end in split_sentences(text, language)]


def test_a_chinese_paragraph_ends_its_sentences_at_its_own_marks() -> None:
    text = "我们的退款政策很简单。客户可以在三十天内申请退款！如有问题，请联系客服？谢谢。"

    assert sentences(text) == [
        "我们的退款政策很简单。",
        "客户可以在三十天内申请退款！",
        "如有问题，请联系客服？",
        "谢谢。",
    ]


def test_japanese_closing_brackets_stay_with_their_sentence() -> None:
    text = "「明日来ます。」彼は「すぐ帰ります。」と言った。今日は晴れです。"

    assert sentences(text) == ["「明日来ます。」", "彼は「すぐ帰ります。」と言った。", "今日は晴れです。"]


def test_a_german_date_s_ordinal_does_not_end_the_sentence() -> None:
    text = "Der Vertrag gilt ab 1. Januar. Danach verlängert er sich um ein Jahr, wenn er nicht gekündigt wird."

    assert sentences(text) == [
        "Der Vertrag gilt ab 1. Januar.",
        "Danach verlängert er sich um ein Jahr, wenn er nicht gekündigt wird.",
    ]


def test_german_abbreviations_and_ordinals_follow_the_language_s_rules() -> None:
    text = "Im 19. Jahrhundert wuchs die Stadt stark. Die Kündigung ist z. B. per E-Mail möglich. Siehe Abs. 2."

    assert sentences(text, "de") == [
        "Im 19. Jahrhundert wuchs die Stadt stark.",
        "Die Kündigung ist z. B. per E-Mail möglich.",
        "Siehe Abs. 2.",
    ]


def test_a_french_abbreviation_after_an_elided_article_does_not_end_the_sentence() -> None:
    text = "Selon l'art. 5 de la loi, le délai est de 30 jours. M. Dupont a signé le contrat avec la société."

    assert sentences(text) == [
        "Selon l'art. 5 de la loi, le délai est de 30 jours.",
        "M. Dupont a signé le contrat avec la société.",
    ]


def test_french_quotation_marks_stay_with_the_sentence_they_close() -> None:
    text = "Il a dit « Arrêtez. » Puis il est parti avec les clés de la maison."

    assert sentences(text) == ["Il a dit « Arrêtez. »", "Puis il est parti avec les clés de la maison."]


def test_spanish_abbreviations_and_inverted_marks() -> None:
    text = "El Sr. García firmó el contrato. ¿Cuándo vence el plazo? Vence el 1 de enero y se renueva cada año."

    assert sentences(text) == [
        "El Sr. García firmó el contrato.",
        "¿Cuándo vence el plazo?",
        "Vence el 1 de enero y se renueva cada año.",
    ]


def test_english_numbers_still_end_sentences() -> None:
    text = "The company was founded in 2020. It grew quickly. Chapter 5. January was cold."

    assert sentences(text) == [
        "The company was founded in 2020.",
        "It grew quickly.",
        "Chapter 5.",
        "January was cold.",
    ]


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Der Vertrag wird auf ein Jahr geschlossen und ist nicht übertragbar.", "de"),
        ("Le contrat est conclu pour une durée d'un an et il est renouvelable.", "fr"),
        ("El contrato es válido por un año y se renueva con el cliente.", "es"),
        ("The contract is signed for one year and was renewed with the client.", "en"),
        ("Refund policy", None),
        ("我们的退款政策很简单。", None),
    ],
)
def test_the_language_is_guessed_from_function_words(text: str, language: str | None) -> None:
    assert guess_language(text) == language
