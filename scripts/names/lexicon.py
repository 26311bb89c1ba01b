#!/usr/bin/env python3
"""Writes the lexicon of real names the matcher embeds
(crates/samizdat-people/data/names.txt) from data that packages ship:

- OpenCorpora's Russian dictionary as pymorphy2-dicts-ru compiles it
  (version 2.4.417127.4579844, OpenCorpora 0.92 revision 417127; data
  licensed CC BY-SA 3.0): every word form in the nominative singular
  tagged as a given name (Name), a surname (Surn) or a patronymic (Patr).
- names-dataset 3.3.1 (Philippe Rémy; Apache 2.0): first and last names
  ranked among the most frequent of Kazakhstan, Russia, Turkmenistan and
  Azerbaijan (the package ranks no other country of the region), in any
  script, as people wrote them.

names-dataset is counted from what people typed, so it holds misspellings
and words that are not names. Kept: single words of letters only, 2 to 24
of them; dropped: a word one edit away from a name at least RATIO times
more frequent in the same list (`Владиир` beside `Владимир`), unless
OpenCorpora knows it, and words that OpenCorpora knows as a common noun
only. Run by scripts/names/lexicon (which fetches the packages).

Usage: lexicon.py PYMORPHY2_DICTS_DATA_DIR NAMES_DATASET_V3_DIR [OPENCORPORA_OUT] > words.txt

OPENCORPORA_OUT, when given, receives OpenCorpora's sections alone: the
evaluation's generator (crates/samizdat-people/tests/data/make-pairs.py)
draws its real names from them.
"""

import gzip
import pickle
import sys
import unicodedata

COUNTRIES = ["KZ", "RU", "TM", "AZ", "UZ", "KG", "TJ", "BY", "UA"]
RATIO = 30
MIN_LETTERS, MAX_LETTERS = 2, 24


def opencorpora(path):
    """Given names, surnames and patronymics of OpenCorpora, and every
    other word it knows (for words of names-dataset that are no names)."""
    from pymorphy2.opencorpora_dict.wrapper import Dictionary

    dictionary = Dictionary(path)
    kinds = {"Name": set(), "Surn": set(), "Patr": set()}
    other = set()
    for word, tag, _normal, _para, _idx in dictionary.iter_known_words():
        grammemes = tag.grammemes
        named = False
        for kind, words in kinds.items():
            if kind in grammemes:
                named = True
                if "nomn" in grammemes and ("sing" in grammemes or "Sgtm" in grammemes):
                    words.add(word)
        if not named and "NOUN" in grammemes and "nomn" in grammemes:
            other.add(word)
    return kinds, other


def is_word(word):
    if not MIN_LETTERS <= len(word) <= MAX_LETTERS:
        return False
    scripts = set()
    for c in word:
        if not c.isalpha():
            return False
        name = unicodedata.name(c, "")
        scripts.add(name.split(" ")[0])
    # One script a word: `Mаmmеdоv` mixes Latin and Cyrillic letters.
    return len(scripts) == 1 and scripts <= {"LATIN", "CYRILLIC"}


def ranked(path):
    """{lowercase word: best rank in COUNTRIES}."""
    with gzip.open(path) as f:
        table = pickle.load(f)
    best = {}
    for word, info in table.items():
        ranks = [r for c in COUNTRIES if (r := (info.get("rank") or {}).get(c))]
        if not ranks:
            continue
        word = word.strip().lower()
        if not is_word(word):
            continue
        best[word] = min(ranks, *([best[word]] if word in best else []))
    return best


def deletions(word):
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def misspellings(best, trusted):
    """Words one edit (insertion, deletion, substitution, swap) from a word
    at least RATIO times more frequent, and not trusted."""
    by_deletion = {}
    for word in best:
        for key in deletions(word) | {word}:
            by_deletion.setdefault(key, []).append(word)
    dropped = set()
    for word, rank in best.items():
        if word in trusted:
            continue
        near = set()
        for key in deletions(word) | {word}:
            near.update(by_deletion.get(key, ()))
        for swap in range(len(word) - 1):
            swapped = word[:swap] + word[swap + 1] + word[swap] + word[swap + 2 :]
            if swapped in best:
                near.add(swapped)
        near.discard(word)
        if any(best[n] * RATIO <= rank for n in near):
            dropped.add(word)
    return dropped


def main():
    corpora_dir, dataset_dir = sys.argv[1], sys.argv[2]
    kinds, nouns = opencorpora(corpora_dir)
    if len(sys.argv) > 3:
        with open(sys.argv[3], "w") as out:
            for kind, words in kinds.items():
                out.write(f"[{kind}]\n")
                out.writelines(f"{w}\n" for w in sorted(words))
    known = set().union(*kinds.values())
    sections = {
        "given": set(kinds["Name"]),
        "surname": set(kinds["Surn"]),
        "patronymic": set(kinds["Patr"]),
    }
    dropped = 0
    for file, section in [("first_names", "given"), ("last_names", "surname")]:
        best = ranked(f"{dataset_dir}/{file}.pkl.gz")
        bad = misspellings(best, known)
        for word in best:
            if word in bad or (word in nouns and word not in known):
                dropped += 1
                continue
            sections[section].add(word)
    print("# Real names: given names, surnames and patronymics.")
    print("# Written by scripts/names/lexicon: do not edit by hand.")
    print("# Sources: OpenCorpora 0.92 r417127 via pymorphy2-dicts-ru 2.4.417127.4579844")
    print("# (CC BY-SA 3.0); names-dataset 3.3.1 (Apache 2.0), ranked names of")
    print("# " + ", ".join(COUNTRIES[:4]) + f"; {dropped} of its words left out as misspellings or nouns.")
    for section, words in sections.items():
        print(f"[{section}]")
        for word in sorted(words):
            print(word)


if __name__ == "__main__":
    main()
