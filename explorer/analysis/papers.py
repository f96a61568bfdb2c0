"""The papers this project is built from: a report names a paper by its authors, title, venue
and year, never by a file of ours.

A study's `source:` starts with a key of `PAPERS` (e.g. "ko2018, Effect of Network Types,
Fig. 10"); `cite` expands it. A source that starts with no key (a user's own paper) is shown as
it is written. The studies' prose calls the papers by the project's short numbers ("004's
Fig. 11"); `references` lists the papers a report's text calls so, to end the report with.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from splitbase import Registry, StudyError


@dataclass(frozen=True)
class Paper:
    authors: str
    title: str
    venue: str
    year: int
    numbers: tuple[str, ...] = ()  # the project's short names of the paper ("004"; two versions: "001", "003")

    def citation(self) -> str:
        """Authors, "Title", venue year."""
        return f"{self.authors}, \"{self.title}\", {self.venue} {self.year}"


PAPERS: Registry[Paper] = Registry("paper", error=StudyError)
for _key, _paper in (
    ("shao2020bottlenetpp", Paper("Jiawei Shao and Jun Zhang", "BottleNet++: An End-to-End Approach for Feature "
                                  "Compression in Device-Edge Co-Inference Systems", "IEEE ICC Workshops", 2020,
                                  ("000",))),
    ("shao2020tradeoff", Paper("Jiawei Shao and Jun Zhang", "Communication-Computation Trade-Off in "
                               "Resource-Constrained Edge Inference", "IEEE Communications Magazine", 2020,
                               ("001", "003"))),
    ("matsubara2022bottlefit", Paper("Yoshitomo Matsubara, Davide Callegaro, Sameer Singh, Marco Levorato and "
                                     "Francesco Restuccia", "BottleFit: Learning Compressed Representations in Deep "
                                     "Neural Networks for Effective and Efficient Split Computing", "arXiv:2201.02693",
                                     2022, ("002",))),
    ("ko2018", Paper("Jong Hwan Ko, Taesik Na, Mohammad Faisal Amir and Saibal Mukhopadhyay", "Edge-Host "
                     "Partitioning of Deep Neural Networks with Feature Space Encoding for Resource-Constrained "
                     "Internet-of-Things Platforms", "IEEE AVSS", 2018, ("004",))),
):
    PAPERS.add(_key, _paper)


def cite(source: str) -> str:
    """A study's source with its leading paper key (if any) replaced by the paper's citation."""
    key, _, where = source.partition(",")
    if key.strip() not in PAPERS:
        return source.strip()
    return PAPERS.get(key.strip()).citation() + (f", {where.strip()}" if where.strip() else "")


# "004's", "001/003"; not a preset's "-004" nor a number's digits ("1.000", "0.004")
_NUMBER = re.compile(r"(?<![\w.-])(\d{3})(?![\w-]|\.\d)")


def references(text: str) -> list[str]:
    """A Markdown "Papers" section for the short numbers `text` uses ([] when it uses none)."""
    used = set(_NUMBER.findall(text))
    cited = [p for p in (PAPERS.get(k) for k in PAPERS.names()) if used & set(p.numbers)]
    if not cited:
        return []
    return ["## Papers", "", "The text above calls the papers by number:", "",
            *(f"- {'/'.join(p.numbers)}: {p.citation()}" for p in sorted(cited, key=lambda p: p.numbers)), ""]
