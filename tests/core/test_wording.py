"""The owner's words for results: the headline says how sure it is."""

from __future__ import annotations

from app.core.wording import headline


def test_headline_tells_how_sure():
    h = headline(23 / 25, 25)
    assert h.kind == "judged" and (h.hits, h.held) == (23, 25)
    assert "23 of 25" in h.text and "92 %" in h.text and "likely between" in h.text
    # new photos fell at or under the range's low end in most seeds (bench/claims.py)
    assert "most often near the low end" in h.text
    few = headline(1.0, 4)
    assert few.kind == "too-few" and "Not enough photos to judge" in few.text
    assert "100 %" not in few.text
    none = headline(None, None)
    assert none.kind == "unmeasured" and "not enough photos to judge" in none.text


def test_one_verdict_for_weak_products():
    from app.core.wording import NONE_WEAK, is_weak, weak_line, weak_products

    # Issue 19: Lemon and Orange at 67 % on held-back photos are weak, everywhere.
    assert is_weak(2 / 3) and not is_weak(0.9) and not is_weak(None)
    assert is_weak(1.0, photos=2) and not is_weak(1.0, photos=3)
    per = {"lemon": 2 / 3, "orange": 2 / 3, "kiwi": 1.0, "pear": None}
    labels = ["lemon", "orange", "kiwi", "pear"]
    assert weak_products(labels, per, {p: 5 for p in labels}) == ["lemon", "orange"]
    assert weak_products(labels, per, {"pear": 1}) == ["lemon", "orange", "pear"]
    line = weak_line(["lemon", "orange"], {"lemon": "Lemon", "orange": "Orange"})
    assert line == "Weak — add photos of: Lemon, Orange."  # what `train` prints
    assert weak_line([], {}) == NONE_WEAK


def test_two_trainings_a_minute_apart_can_be_told_apart() -> None:
    """Earlier models showed "06 Dec 2026, 17:39" twice; seconds are there when asked."""
    from app.core.wording import format_when, model_facts

    a = {"trainedAt": "2026-12-06T17:39:05Z", "labels": ["x"]}
    b = {"trainedAt": "2026-12-06T17:39:48Z", "labels": ["x"]}
    assert format_when(a) == format_when(b)
    assert format_when(a, seconds=True) != format_when(b, seconds=True)
    assert format_when(a, seconds=True).endswith(":05")
    assert model_facts(b, seconds=True)[0] == format_when(b, seconds=True)


def test_two_models_of_the_same_minute_are_told_apart_by_the_second() -> None:
    """ "Use the model trained 07 Dec 2026, 02:37 (6 products), 2 products taught at the
    counter since again as the local model, instead of the model trained 07 Dec 2026,
    02:37 (6 products)?" — the same time twice, and "since again"."""
    from app.core.wording import describe_model, two_models

    a = {"trainedAt": "2026-12-07T02:37:10Z", "labels": list("abcdef")}
    b = {
        "trainedAt": "2026-12-07T02:37:55Z",
        "labels": list("abcdef"),
        "taught": {"products": {"a": 1, "b": 2}},
    }
    earlier, now = two_models(a, b)
    assert earlier != now and ":10 (6 products)" in earlier and ":55 (6 products;" in now
    assert now.endswith("(6 products; 2 products taught at the counter since)")
    c = {"trainedAt": "2026-12-06T09:00:00Z", "labels": list("abc")}
    assert two_models(c, a) == (describe_model(c), describe_model(a))  # minutes apart


def test_a_percentage_below_the_threshold_never_reads_like_it():
    from app.core.wording import percent, percent_beside

    assert percent(0.8612) == "86 %" and percent(0.9996) == "99.9 %" and percent(1.0) == "100 %"
    assert percent_beside(0.9695, 0.97) == "96.9 %"  # "97 % (not sure)" would contradict
    assert percent_beside(0.97, 0.97) == "97 %"
    assert percent_beside(0.5, 0.97) == "50 %"


def test_predict_never_prints_a_probability_below_the_threshold_as_reaching_it() -> None:
    """``predict`` printed "0.970 … Not sure (accept at 0.97)", and "accept at 1.01" for a
    model whose till never adds by itself."""
    from app.core.wording import share_beside, threshold_words

    assert share_beside(0.9697, 0.9698) == "0.969" and threshold_words(0.9698) == "accept at 0.970"
    assert share_beside(0.96485, 0.9649) == "0.964" and threshold_words(0.9649) == "accept at 0.965"
    assert share_beside(0.9651, 0.9649) == "0.965" and share_beside(0.5, 0.97) == "0.500"
    assert threshold_words(1.01) == "the till never adds by itself"


def test_a_model_taught_since_it_was_published_is_not_the_published_one() -> None:
    """Teaching keeps ``trainedAt`` and the products: compared by those alone, the Model
    screen said "This model is the one currently published" while Publish offered it."""
    from app.core.wording import compare_published

    served = {"trainedAt": "2026-12-07T05:17:00Z", "labels": ["1", "2"], "weightsSha256": "a"}
    taught = {**served, "weightsSha256": "b", "taught": {"photos": 1}}
    assert compare_published(served, dict(served)) == (
        "This model is the one currently published.",
        "ok",
    )
    said, kind = compare_published(taught, served)
    assert said.startswith("This model and the published one come from the same training")
    newer = {**taught, "trainedAt": "2026-12-08T05:17:00Z"}
    assert compare_published(newer, served)[0] == "This model is newer than the published one."
    assert compare_published(served, newer)[1] == "warn"
    old = {k: v for k, v in served.items() if k != "weightsSha256"}  # a model of before
    assert compare_published(old, dict(old))[1] == "ok"
    assert compare_published(served, None)[0] == "No model is published for this channel yet."


def test_a_training_time_after_this_computers_clock_is_said_so() -> None:
    """A ``trainedAt`` days ahead read "trained just now", hiding a clock days wrong."""
    import datetime as dt

    from app.core.timestamps import age_words

    now = dt.datetime(2026, 12, 7, 12, tzinfo=dt.timezone.utc)
    assert age_words(now - dt.timedelta(days=2), now) == "2 days ago"
    assert age_words(now - dt.timedelta(seconds=30), now) == "just now"
    assert age_words(now + dt.timedelta(seconds=60), now) == "just now"  # clocks a bit apart
    assert age_words(now + dt.timedelta(days=3, hours=1), now) == (
        "3 days after this computer's clock — is it right?"
    )


def test_dates_are_written_in_english_whatever_the_computers_language(tmp_path) -> None:
    # Qt sets the C library's locale to the system's, and %b then wrote "07 Dez 2026"
    # inside English sentences (an Arabic month name reordered the whole date)
    import subprocess
    import sys

    from locales import locale_env

    code = (
        "import locale; locale.setlocale(locale.LC_ALL, ''); "
        "from app.core.wording import format_when; "
        "print(locale.setlocale(locale.LC_TIME), "
        "format_when({'trainedAt': '2026-12-07T10:00:00Z'}))"
    )
    for lang in ("de_DE", "ar_EG"):
        env = {**locale_env(tmp_path / "locales", lang), "TZ": "UTC"}
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        ).stdout
        assert out == f"{lang}.UTF-8 07 Dec 2026, 10:00\n", out


def test_names_match_and_sort_as_a_person_reads_them() -> None:
    from app.core.names import name_key, sort_key

    assert name_key("İNCİR") == name_key("incir") == name_key("Incir")
    shelf = ["Zwiebeln", "Öl", "Äpfel", "Birnen", "Apfelsinen", "Érable (sirop)"]
    assert sorted(shelf, key=sort_key) == [
        "Äpfel", "Apfelsinen", "Birnen", "Érable (sirop)", "Öl", "Zwiebeln"
    ]  # fmt: skip
