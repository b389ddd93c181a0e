"""`strataml export model-card`: checked by huggingface_hub's own ModelCard, offline."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import copy_example, edit_yaml, invoke, read_yaml, require_extra


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_example(tmp_path_factory.mktemp("export") / "example")


def models_of(root: Path) -> list[str]:
    return sorted(read_yaml(p)["ref"] for p in root.glob("models/*/*/model.yaml"))


def load_card(path: Path):  # type: ignore[no-untyped-def]
    from huggingface_hub import ModelCard

    # ignore_metadata_errors=False: a model-index the Hub's parser cannot read raises here.
    return ModelCard.load(path, ignore_metadata_errors=False)


@pytest.mark.parametrize("where", ["example", "generated"])
def test_every_model_card_is_read_back_by_huggingface_hub(
    example: Path, ws: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    require_extra("huggingface_hub", "modelcard")
    root = example if where == "example" else ws
    refs = models_of(root)
    assert refs
    for ref in refs:
        out = tmp_path / ref.replace(":", "_").replace("@", "_") / "README.md"
        code, said, err = invoke(root, "export", "model-card", ref, "-o", str(out), "--license", "Apache-2.0",
                                 "--format", "json", capsys=capsys)
        assert code == 0, err
        summary = json.loads(said)
        model = read_yaml(root / f"models/{ref.split(':')[1].replace('@', '/')}/model.yaml")
        metrics = model["evaluation"]["metrics"]
        card = load_card(out)
        assert card.data.license == "apache-2.0" and summary["license"] == "apache-2.0"
        assert card.data.model_name == ref.split(":")[1].split("@")[0]
        results = {r.metric_type: r for r in card.data.eval_results}
        assert {k: r.metric_value for k, r in results.items()} == pytest.approx(metrics)
        dataset = model["inputs"][0]
        assert {r.dataset_revision for r in results.values()} == {dataset["digest"]}
        assert {r.dataset_name for r in results.values()} == {dataset["ref"].split(":")[1].split("@")[0]}
        assert card.data.datasets == [i["ref"].split(":")[1].split("@")[0] for i in model["inputs"]]
        assert summary["metrics"] == len(metrics) and summary["ref"] == ref
        for section in ("## Lineage", "## Evaluation", "## Gate receipt", "## Lifecycle", "## Signatures"):
            assert section in card.text
        assert model["produced_by"].split(":")[1].replace("-", "\\-") in card.text


def test_the_card_says_what_the_records_say(example: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    require_extra("huggingface_hub", "modelcard")
    code, text, err = invoke(example, "export", "model-card", "model:iris-classifier@1", capsys=capsys)
    assert code == 0, err
    assert "lifecycle state **production**" in text
    assert "Status **PASS**" in text and "test\\_f1\\_macro \\>\\= 0\\.90" in text
    assert "shadow week matched the baseline" in text  # the ledger's reasons
    assert "license:" not in text.split("---")[1]  # none recorded, none given: left out, and said
    code, _o, err = invoke(example, "export", "model-card", "model:iris-classifier@1", "-o", str(tmp_path / "c.md"),
                           capsys=capsys)
    assert code == 0 and "no licence recorded" in err


def test_repository_text_cannot_break_the_card(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A licence with Markdown and a front-matter fence in it stays text: the metadata still parses."""
    require_extra("huggingface_hub", "modelcard")
    root = copy_example(tmp_path / "ws")
    edit_yaml(root / "datasets/iris/1/dataset.yaml", lambda d: d.update(license="x\n---\n<img src=x onerror=alert(1)> [a](javascript:1)"))
    edit_yaml(root / "models/iris-classifier/1/model.yaml", lambda d: d.setdefault("tags", {}).update(license="mit\n---\nowned: true"))
    out = tmp_path / "README.md"
    code, _o, err = invoke(root, "export", "model-card", "model:iris-classifier@1", "-o", str(out), capsys=capsys)
    assert code == 0, err
    card = load_card(out)
    assert "owned" not in card.data.to_dict()
    assert not re.search(r"(?<!\\)<img", card.text) and not re.search(r"(?<!\\)\]\(javascript", card.text)
    assert "\\<img src\\=x onerror\\=alert\\(1\\)\\>" in card.text


def test_usage_errors_say_what_to_do(example: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _o, err = invoke(example, "export", "model-card", "dataset:iris@1", capsys=capsys)
    assert code == 3 and "is not a model version" in err
    code, _o, err = invoke(example, "export", "model-card", "model:iris-clasifier@1", capsys=capsys)
    assert code == 3 and "did you mean" in err
    code, _o, err = invoke(example, "export", "model-card", "model:iris-classifier@1", "--format", "json", capsys=capsys)
    assert code == 3 and "-o FILE" in err


def test_without_the_extra_the_error_names_it(example: Path) -> None:
    script = (
        "import sys; sys.modules['huggingface_hub'] = None\n"
        "from strataml.cli.main import run\n"
        f"raise SystemExit(run(['-C', {str(example)!r}, 'export', 'model-card', 'model:iris-classifier@1']))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 3 and "pip install 'strataml[modelcard]'" in done.stderr and "Traceback" not in done.stderr
