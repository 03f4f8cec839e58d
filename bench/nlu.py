"""NLU benchmark: the shipped model beside a `rasa init`-default baseline, one row per language's held-out set.

Usage: python bench/nlu.py [--model models/coprod.tar.gz]
The baseline is trained once on the same data/ and cached under models/.
"""
from __future__ import annotations

import argparse
import hashlib
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nlu.evaluation import LANGUAGES, SETS, Scores, evaluate_languages  # noqa: E402


def baseline_model() -> Path:
    """Train (or reuse) the baseline NLU model for the current training data."""
    digest = hashlib.sha256()
    for path in sorted((ROOT / "data" / "nlu").rglob("*.yml")) + [ROOT / "bench" / "baseline_config.yml"]:
        digest.update(path.read_bytes())
    name = f"baseline-{digest.hexdigest()[:12]}"
    model = ROOT / "models" / f"{name}.tar.gz"
    if not model.exists():
        rasa = str(Path(sys.executable).with_name("rasa"))
        subprocess.run(
            [rasa, "train", "nlu", "--config", "bench/baseline_config.yml", "--nlu", "data/nlu",
             "--out", "models", "--fixed-model-name", name, "--quiet"],
            cwd=ROOT, check=True,
        )
    return model


def row(language: str, name: str, scores: Scores) -> str:
    return (
        f"| {language} | {name} | {scores.examples} | {scores.intent_accuracy:.3f} | {scores.macro_f1:.3f} | "
        f"{scores.category_accuracy:.3f} | {scores.p50_ms:.1f} | {scores.p95_ms:.1f} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=str(ROOT / "models" / "coprod.tar.gz"))
    parser.add_argument("--show-errors", action="store_true", help="the dev sets' errors (never the held-out sets')")
    args = parser.parse_args()
    baseline_path = baseline_model()
    for name in SETS:
        shipped = evaluate_languages(Path(args.model), name=name)
        baseline = evaluate_languages(baseline_path, name=name)
        print(f"\n{name} sets (tests/nlu/{name}_<language>.yml)")
        print("| language | model | messages | intent accuracy | macro-F1 | category accuracy | parse p50 ms | parse p95 ms |")
        print("|---|---|---|---|---|---|---|---|")
        for language in LANGUAGES:
            print(row(language, "shipped (config.yml)", shipped[language]))
            print(row(language, "baseline (rasa init default)", baseline[language]))
        if args.show_errors and name == "dev":
            for language in LANGUAGES:
                for text, gold, predicted in shipped[language].errors:
                    print(f"  [{language}] {gold} -> {predicted}: {text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
