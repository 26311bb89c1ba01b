#!/usr/bin/env python3
"""Writes pairs.tsv: labelled pairs of names for the matcher's evaluation.

Every variant is written by the rules people and offices actually use,
implemented here from their published tables, independently of the
matcher: Kazakh Latin (2021), ICAO 9303 (passports), BGN/PCGN, GOST 7.79
system B, informal spellings of social networks, Russian forms of Kazakh
names; plus name order, dropped or changed patronymics, typos, capitals.
Negatives are different people with similar names: siblings, a father
and his son, namesakes, similar real surnames.

Deterministic: `python3 make-pairs.py target/names-lexicon/opencorpora.txt >
pairs.tsv` gives the same file (the argument is written by
scripts/names/lexicon; without it, the pairs drawn from real names are
left out).
"""

import random
import sys

rng = random.Random(20261201)

KZ_MALE = ["Нұрлан", "Ерлан", "Серік", "Асқар", "Бауыржан", "Жандос", "Мұхтар", "Қасым",
           "Шыңғыс", "Ержан", "Дәурен", "Ғалым", "Айдос", "Нұржан", "Талғат", "Бақыт",
           "Өмірзақ", "Жасұлан", "Әлібек", "Ұлан", "Болат", "Марат", "Қайрат", "Нұрбол"]
KZ_FEMALE = ["Әсел", "Айгерім", "Гүлнар", "Жанар", "Динара", "Ақмарал", "Сәуле",
             "Мөлдір", "Жұлдыз", "Гүлмира", "Назерке", "Аружан", "Перизат", "Айжан",
             "Ләззат", "Шолпан", "Ботагөз", "Раушан"]
KZ_SURNAMES = ["Әбенов", "Тоқаев", "Сейітов", "Жақсылықов", "Құрманов", "Омаров",
               "Бекмұхамбетов", "Ахметов", "Сәрсенбаев", "Қожахметов", "Мұқанов", "Әлиев",
               "Досмұхамбетов", "Байжанов", "Ермеков", "Тұрсынов", "Шәкенов", "Оспанов",
               "Жұмабаев", "Қасымов", "Есенов", "Иманғалиев"]
RU_MALE = ["Александр", "Дмитрий", "Сергей", "Евгений", "Андрей", "Алексей", "Юрий",
           "Фёдор", "Михаил", "Николай", "Игорь", "Виктор", "Вячеслав", "Илья"]
RU_FEMALE = ["Юлия", "Наталья", "Елена", "Ольга", "Мария", "Татьяна", "Анастасия",
             "Ксения", "Екатерина", "Людмила", "Дарья"]
RU_SURNAMES = ["Иванов", "Смирнов", "Кузнецов", "Попов", "Соколов", "Лебедев", "Козлов",
               "Новиков", "Морозов", "Петров", "Волков", "Фёдоров", "Щербаков", "Жуков",
               "Сергеев", "Яковлев", "Цветков", "Захаров", "Хохлов", "Чернышёв"]

# Russian-Cyrillic forms of Kazakh given names, as Russian offices write them.
RU_FORM = {"Әсел": "Асель", "Сәуле": "Сауле", "Ләззат": "Ляззат", "Мөлдір": "Молдир",
           "Серік": "Серик", "Әлібек": "Алибек", "Өмірзақ": "Омирзак", "Айгерім": "Айгерим"}


def russianise(word):
    """A Kazakh word as Russian Cyrillic writes it."""
    if word in RU_FORM:
        return RU_FORM[word]
    table = str.maketrans("әғқңөұүһіӘҒҚҢӨҰҮҺІ", "агкноуухиАГКНОУУХИ")
    return word.translate(table)


def table_translit(word, table, start_e=None, after_vowel_e=None):
    out = []
    prev = None
    for ch in word:
        low = ch.lower()
        if low == "е" and start_e and (prev is None or prev in "аеёиоуыэюяәөұүі"):
            piece = start_e
        else:
            piece = table.get(low, low)
        if ch != low and piece:
            piece = piece[0].upper() + piece[1:]
        out.append(piece)
        prev = low
    return "".join(out)


KZ_LATIN_2021 = dict(zip("абвгғдеёжзийіклмнңоөпрстуұүфхһцчшщъыьэюя",
    ["a", "b", "v", "g", "ğ", "d", "e", "io", "j", "z", "i", "i", "ı", "k", "l", "m", "n",
     "ñ", "o", "ö", "p", "r", "s", "t", "u", "ū", "ü", "f", "h", "h", "ts", "ch", "ş", "şş",
     "", "y", "", "e", "iu", "ia"]))
KZ_LATIN_2021.update({"ә": "ä", "қ": "q"})
ICAO = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюяәғқңөұүһі",
    ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "i", "k", "l", "m", "n", "o", "p",
     "r", "s", "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "ie", "y", "", "e", "iu", "ia",
     "a", "g", "k", "n", "o", "u", "u", "h", "i"]))
BGN = dict(ICAO)
BGN.update({"ё": "yo", "й": "y", "ю": "yu", "я": "ya", "ъ": "", "ь": ""})
GOST_B = dict(ICAO)
GOST_B.update({"ё": "yo", "й": "j", "х": "x", "ц": "cz", "щ": "shh", "ы": "y'", "ъ": "``",
               "ь": "`", "э": "e`", "ю": "yu", "я": "ya"})
INFORMAL = dict(BGN)
INFORMAL.update({"ә": "a", "ғ": "gh", "қ": "q", "ң": "ng", "ө": "o", "ұ": "u", "ү": "u",
                 "і": "i", "ж": "j", "х": "h", "ы": "i", "й": "i"})

def press(word, table, vowel_s, start_e):
    """French or German press spelling: с between vowels is `ss` (one `s`
    there would be read з)."""
    word = russianise(word)
    out = []
    low = word.lower()
    vowels = "аеёиоуыэюя"
    for i, ch in enumerate(low):
        between = 0 < i < len(low) - 1 and low[i - 1] in vowels and low[i + 1] in vowels
        if ch == "с" and between:
            piece = vowel_s
        elif ch == "е" and (i == 0 or low[i - 1] in vowels):
            piece = start_e
        else:
            piece = table.get(ch, ch)
        out.append(piece)
    text = "".join(out)
    return text[:1].upper() + text[1:] if word[:1].isupper() else text


FRENCH = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
    ["a", "b", "v", "g", "d", "e", "io", "j", "z", "i", "ï", "k", "l", "m", "n", "o", "p",
     "r", "s", "t", "ou", "f", "kh", "ts", "tch", "ch", "chtch", "", "y", "", "e", "iou", "ia"]))
GERMAN = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
    ["a", "b", "w", "g", "d", "e", "jo", "sch", "s", "i", "j", "k", "l", "m", "n", "o", "p",
     "r", "s", "t", "u", "f", "ch", "z", "tsch", "sch", "schtsch", "", "y", "", "e", "ju",
     "ja"]))

SYSTEMS = {
    "kz2021": lambda w: table_translit(w, KZ_LATIN_2021),
    "icao": lambda w: table_translit(russianise(w), ICAO),
    "icao-kz": lambda w: table_translit(w, ICAO),
    "bgn": lambda w: table_translit(russianise(w), BGN, start_e="ye"),
    "gost": lambda w: table_translit(russianise(w), GOST_B),
    "informal": lambda w: table_translit(w, INFORMAL),
    "ru-cyrillic": russianise,
    "kz-cyrillic": lambda w: w,
    "french": lambda w: press(w, FRENCH, "ss", "ie"),
    "german": lambda w: press(w, GERMAN, "ss", "je"),
}


def fem_surname(s):
    return s + "а"


def patronymic(father, female, kazakh):
    if kazakh:
        return father + ("қызы" if female else "ұлы")
    base = russianise(father)
    if base.endswith("й"):
        base = base[:-1] + "е"
        return base + ("вна" if female else "вич")
    return base + ("овна" if female else "ович")


def person(i):
    kazakh = rng.random() < 0.7
    female = rng.random() < 0.5
    if kazakh:
        given = rng.choice(KZ_FEMALE if female else KZ_MALE)
        father = rng.choice(KZ_MALE)
        surname = rng.choice(KZ_SURNAMES + [russianise(father) + "ов"] * 3)
    else:
        given = rng.choice(RU_FEMALE if female else RU_MALE)
        father = rng.choice(RU_MALE)
        surname = rng.choice(RU_SURNAMES)
    if female:
        surname = fem_surname(surname)
    return dict(given=given, father=father, surname=surname, female=female, kazakh=kazakh)


TYPO_SWAPS = {"а": "о", "о": "а", "е": "и", "и": "е", "н": "м", "с": "з", "к": "г"}


def typo(word):
    """One slip of the keyboard in a word of five letters or more."""
    if len(word) < 5:
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.choice(["swap", "drop", "double", "similar"])
    if kind == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if kind == "drop":
        return word[:i] + word[i + 1:]
    if kind == "double":
        return word[:i] + word[i] + word[i:]
    low = word[i].lower()
    if low in TYPO_SWAPS:
        return word[:i] + TYPO_SWAPS[low] + word[i + 1:]
    return word[:i] + word[i + 1] + word[i] + word[i + 2:]


def written(p, system, order="gs", patro=None, typo_in=None, caps=False):
    """A name as one report writes it."""
    words = {"g": p["given"], "s": p["surname"]}
    if patro is not None:
        words["p"] = patronymic(p["father"], p["female"], patro)
    if typo_in:
        words[typo_in] = typo(words[typo_in])
    out = []
    for key in order:
        if key not in words:
            continue
        w = SYSTEMS[system](words[key])
        if caps and key == "s":
            w = w.upper()
        out.append(w)
    return " ".join(out)


rows = []
systems = list(SYSTEMS)
for i in range(260):
    p = person(i)
    sa, sb = rng.sample(systems, 2)
    patro_a = rng.choice([None, None, p["kazakh"], False])
    patro_b = rng.choice([None, patro_a, not p["kazakh"] if p["kazakh"] else None])
    order_a = rng.choice(["gs", "gps", "sgp"])
    order_b = rng.choice(["gs", "sg", "gps", "sgp"])
    typo_in = rng.choice([None, None, None, "g", "s"])
    caps = rng.random() < 0.15
    a = written(p, sa, order_a, patro_a)
    b = written(p, sb, order_b, patro_b, typo_in, caps)
    note = f"{sa} / {sb}" + (f", typo in {'given name' if typo_in == 'g' else 'surname'}" if typo_in else "")
    rows.append(("same", a, b, note))

# A daughter or son whose surname is made from the father's name: the
# Russian surname in one report, the Kazakh patronymic in the other.
for i in range(30):
    female = rng.random() < 0.5
    given = rng.choice(KZ_FEMALE if female else KZ_MALE)
    father = rng.choice(KZ_MALE)
    surname = russianise(father) + ("ова" if female else "ов")
    a = f"{SYSTEMS['ru-cyrillic'](given)} {surname}"
    sys_b = rng.choice(["kz2021", "kz-cyrillic", "informal"])
    b = f"{SYSTEMS[sys_b](given)} {SYSTEMS[sys_b](patronymic(father, female, True))}"
    rows.append(("same", a, b, f"surname from the father's name, Kazakh patronymic ({sys_b})"))

# Initials: the same person, but never enough for an automatic merge.
for i in range(10):
    p = person(i)
    s = rng.choice(systems)
    full = written(p, s, "gs")
    short = SYSTEMS[s](p["given"])[0] + ". " + SYSTEMS[s](p["surname"])
    rows.append(("same", full, short, f"initial ({s})"))

negatives = []
for i in range(50):
    # Siblings: one surname and father, two given names that look alike.
    p = person(i)
    q = dict(p)
    pool = (KZ_FEMALE if p["female"] else KZ_MALE) if p["kazakh"] else (RU_FEMALE if p["female"] else RU_MALE)
    others = [g for g in pool if g != p["given"] and g[0] == p["given"][0]] or [g for g in pool if g != p["given"]]
    q["given"] = rng.choice(others)
    s1, s2 = rng.choice(systems), rng.choice(systems)
    negatives.append(("different", written(p, s1, "gs"), written(q, s2, "gs"), "siblings"))
for i in range(40):
    # Namesakes: one given name, another surname.
    p = person(i)
    q = person(i + 1000)
    q["given"], q["female"] = p["given"], p["female"]
    if q["female"] != p["female"]:
        continue
    if q["surname"] == p["surname"]:
        continue
    s = rng.choice(systems)
    negatives.append(("different", written(p, s, "gs"), written(q, rng.choice(systems), "gs"), "same given name"))
for i in range(30):
    # A father and his son: the father's name is the son's patronymic.
    son = person(i)
    son["female"] = False
    if son["kazakh"]:
        son["given"] = rng.choice([g for g in KZ_MALE if g != son["father"]])
    else:
        son["given"] = rng.choice([g for g in RU_MALE if g != son["father"]])
    if son["surname"].endswith("а"):
        son["surname"] = son["surname"][:-1]
    father = dict(son, given=son["father"])
    s = rng.choice(systems)
    negatives.append(("different", written(father, s, "gs"), written(son, rng.choice(systems), "gps", patro=False), "father and son"))
for i in range(30):
    # Same given name and surname, different fathers.
    p = person(i)
    q = dict(p)
    pool = KZ_MALE if p["kazakh"] else RU_MALE
    q["father"] = rng.choice([f for f in pool if f != p["father"]])
    s = rng.choice(systems)
    negatives.append(("different", written(p, s, "gps", patro=p["kazakh"]), written(q, rng.choice(systems), "gps", patro=p["kazakh"]), "namesakes with different patronymics"))
# Real surnames a letter apart, with different given names.
for a, b in [("Ахметов", "Ахмедов"), ("Омаров", "Умаров"), ("Сейітов", "Сейтов"),
             ("Исаев", "Иса"), ("Қасымов", "Касимов"), ("Жуков", "Жукова"),
             ("Ермеков", "Ермаков"), ("Попов", "Попова"), ("Петров", "Петрова"),
             ("Козлов", "Козлова")]:
    for g1, g2 in [("Марат", "Болат"), ("Ерлан", "Нұрлан"), ("Динара", "Дина")]:
        s1, s2 = rng.choice(systems), rng.choice(systems)
        negatives.append(("different", f"{SYSTEMS[s1](g1)} {SYSTEMS[s1](a)}", f"{SYSTEMS[s2](g2)} {SYSTEMS[s2](b)}", "similar surnames, different given names"))
# A man and a woman of one family: Aleksandr and Aleksandra Ivanov(a).
for g1, g2 in [("Александр", "Александра"), ("Евгений", "Евгения"), ("Ян", "Яна"),
               ("Валентин", "Валентина"), ("Руслан", "Руслана")]:
    for s in ["Иванов", "Ахметов", "Сергеев"]:
        sys1, sys2 = rng.choice(systems), rng.choice(systems)
        negatives.append(("different", f"{SYSTEMS[sys1](g1)} {SYSTEMS[sys1](s)}", f"{SYSTEMS[sys2](g2)} {SYSTEMS[sys2](s + 'а')}", "a man and a woman of one family"))

# Real names from OpenCorpora (scripts/names/lexicon writes them to
# target/names-lexicon/opencorpora.txt; give that file as the argument):
# pairs of different real names one letter apart, and real names in two
# systems.
EQUIVALENT = [{"е", "ё"}, {"е", "э"}, {"и", "й"}, {"и", "ы"}, {"ь", ""}, {"ъ", ""}]


def one_apart(words):
    """Pairs of words one substitution apart, where the two letters are
    not two spellings of one sound."""
    by_gap = {}
    for w in words:
        for i in range(1, len(w)):
            by_gap.setdefault(w[:i] + "_" + w[i + 1:], []).append(w)
    pairs = set()
    for group in by_gap.values():
        for x in group:
            for y in group:
                if x < y:
                    i = next(k for k in range(len(x)) if x[k] != y[k])
                    if {x[i], y[i]} not in EQUIVALENT:
                        pairs.add((x, y))
    return sorted(pairs)


def lexicon_rows(path):
    sections = {}
    current = None
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line.startswith("["):
                current = sections.setdefault(line[1:-1], [])
            elif current is not None and line.isalpha():
                current.append(line.capitalize())
    male = [w for w in sections["Name"] if len(w) >= 4 and w[-1] not in "аяь"]
    surnames = [w for w in sections["Surn"] if len(w) >= 6 and w.endswith(("ов", "ев", "ин"))]
    out = []

    def add(label, a, b, how):
        # Two different names one system writes alike are no test.
        if label == "different" and sorted(a.lower().split()) == sorted(b.lower().split()):
            return
        out.append((label, a, b, how))

    for x, y in rng.sample(one_apart(surnames), 80):
        g = rng.choice(male)
        s1, s2 = rng.choice(systems), rng.choice(systems)
        add("different", f"{SYSTEMS[s1](g)} {SYSTEMS[s1](x)}",
                    f"{SYSTEMS[s2](y)} {SYSTEMS[s2](g)}",
            f"lexicon: surnames one letter apart ({s1} / {s2})")
    for x, y in rng.sample(one_apart(male), 60):
        s = rng.choice(surnames)
        s1, s2 = rng.choice(systems), rng.choice(systems)
        add("different", f"{SYSTEMS[s1](x)} {SYSTEMS[s1](s)}",
                    f"{SYSTEMS[s2](y)} {SYSTEMS[s2](s)}",
            f"lexicon: given names one letter apart ({s1} / {s2})")
    patronymics = [w for w in sections["Patr"] if w.endswith("вич")]
    for x, y in rng.sample(one_apart(patronymics), 40):
        g, s = rng.choice(male), rng.choice(surnames)
        s1, s2 = rng.choice(systems), rng.choice(systems)
        add("different", " ".join(SYSTEMS[s1](w) for w in (g, x, s)),
                    " ".join(SYSTEMS[s2](w) for w in (g, y, s)),
            f"lexicon: patronymics one letter apart ({s1} / {s2})")
    for _ in range(100):
        g, s = rng.choice(male), rng.choice(surnames)
        s1, s2 = rng.sample(systems, 2)
        out.append(("same", f"{SYSTEMS[s1](g)} {SYSTEMS[s1](s)}",
                    f"{SYSTEMS[s2](s)} {SYSTEMS[s2](g)}", f"lexicon: {s1} / {s2}"))
    return out


if len(sys.argv) > 1:
    negatives.extend(lexicon_rows(sys.argv[1]))
rows.extend(negatives)
print("# label\tname a\tname b\thow (generated by make-pairs.py; do not edit by hand)")
for label, a, b, note in rows:
    print(f"{label}\t{a}\t{b}\t{note}")
