"""The one "did you mean": a shortened or mis-cased name first, then the closest spelling."""

from __future__ import annotations

from strataml.spelling import nearest


def test_a_shortened_name_is_found_before_a_similar_spelling() -> None:
    known = ["test_f1_macro", "test_f2", "test_accuracy"]
    assert nearest("test_f1", known) == ["test_f1_macro"]


def test_case_is_ignored_and_the_known_spelling_returned() -> None:
    assert nearest("Test_Accuracy", ["test_accuracy", "val_loss"]) == ["test_accuracy"]
    assert nearest("tfc0006-e02", ["TFC0006-E002", "TFC0001-E001"], n=3, cutoff=0.5)[0] == "TFC0006-E002"


def test_the_same_name_but_for_case_comes_first_then_longer_names() -> None:
    assert nearest("iris", ["breast-cancer", "iris-classifier", "iris"], n=3) == ["iris", "iris-classifier"]
    assert nearest("iris", ["iris-classifier", "iris", "iris-v2"], n=2) == ["iris"]


def test_many_names_starting_so_are_ranked_by_spelling() -> None:
    known = ["list", "lineage", "lint-ish", "listing"]
    assert nearest("lsit", known, n=1) == ["list"]
    assert nearest("li", known, n=3) == ["list"]  # (four start so: by spelling, as difflib ranks it)


def test_nothing_close_and_nothing_typed_give_nothing() -> None:
    assert nearest("zzz", ["status", "tags"]) == []
    assert nearest("", ["status", "tags"]) == []


def test_every_did_you_mean_asks_here() -> None:
    import pathlib

    import strataml

    # One lookup for every reader (CLI, API, plugins, gates): a new call of difflib elsewhere
    # would be a second way with its own rules.
    top = pathlib.Path(strataml.__file__).parent
    users = sorted(
        str(p.relative_to(top)) for p in top.rglob("*.py") if "get_close_matches" in p.read_text(encoding="utf-8")
    )
    assert users == ["spelling.py"]


def test_refs_are_judged_by_their_name_not_their_shared_kind_and_version() -> None:
    from strataml.refs import closest

    refs = ["dataset:odd@1", "dataset:odd2@1", "dataset:iris@1", "model:iris-classifier@1"]
    # (Every ref shares `dataset:` and `@1`: judged whole, these looked 75% alike.)
    assert closest("dataset:nosuch@1", refs) == []
    assert closest("dataset:iris@2", refs) == ["dataset:iris@1"]  # (another kind only when none of its own is close)
    assert closest("model:iris-classifer@1", refs) == ["model:iris-classifier@1"]
    assert closest("dataset:", refs) == []


def test_the_latest_version_does_not_hang_on_listing_order() -> None:
    from strataml.refs import expand

    # (1 and 01 are one number: which was listed first decided before.)
    assert expand("model:m", ["model:m@1", "model:m@01"]) == expand("model:m", ["model:m@01", "model:m@1"]) == "model:m@1"
    assert expand("model:m", ["model:m@2", "model:m@10", "model:m@x"]) == "model:m@10"
    # Dotted versions by their numbers, as the register hint suggests them (1.0.0): 2.9 was taken over 2.10.
    assert expand("model:m", ["model:m@2.9", "model:m@2.10", "model:m@1.0.0"]) == "model:m@2.10"
    assert expand("model:m", ["model:m@1.10.0", "model:m@1.9.9", "model:m@rc2"]) == "model:m@1.10.0"
    # A pre-release comes before its release (as semver and PEP 440 have it), not after its prefix.
    for release, pre in (("2", "2-rc1"), ("1.0.0", "1.0.0-rc1"), ("2.0", "2.0rc1"), ("1.0.0", "1.0.0.dev1")):
        assert expand("model:m", [f"model:m@{pre}", f"model:m@{release}"]) == f"model:m@{release}"
    assert expand("model:m", ["model:m@1.0.0", "model:m@1.0.1-rc1"]) == "model:m@1.0.1-rc1"
    # A post-release after its release; a digit that is no ASCII digit is a word, not a crash.
    assert expand("model:m", ["model:m@1.0.post1", "model:m@1.0"]) == "model:m@1.0.post1"
    assert expand("model:m", ["model:m@1.0-hotfix", "model:m@1.0"]) == "model:m@1.0-hotfix"
    assert expand("model:m", ["model:m@\u00b2", "model:m@1"]) == "model:m@1"


def test_names_that_differ_only_in_case_are_each_offered() -> None:
    # (One spelling stood for both: `iris-clasifier` was offered only Iris-Classifier.)
    assert nearest("iris-clasifier", ["Iris-Classifier", "iris-classifier"], n=3) == ["Iris-Classifier", "iris-classifier"]
