"""The items of the built-in generation tasks, written for this project and checked by hand.

Word pairs for ``en_fr`` (English noun or adjective -> French, no article), ``past_tense`` (English verb ->
simple past, regular and irregular) and ``capitals`` (country -> capital city); ``addition`` is computed
from `ADDITION_PAIRS`, each with the digit-by-digit reasoning of `addition_reasoning` (the
chain-of-thought format of Wei et al. 2022). `engine.data.gen_tasks` turns them into `GenTask`s.
"""

from __future__ import annotations

EN_FR: tuple[tuple[str, str], ...] = (
    ("house", "maison"),
    ("cat", "chat"),
    ("dog", "chien"),
    ("water", "eau"),
    ("bread", "pain"),
    ("apple", "pomme"),
    ("book", "livre"),
    ("tree", "arbre"),
    ("sun", "soleil"),
    ("moon", "lune"),
    ("car", "voiture"),
    ("school", "école"),
    ("red", "rouge"),
    ("black", "noir"),
    ("cheese", "fromage"),
    ("milk", "lait"),
    ("hand", "main"),
    ("head", "tête"),
    ("sea", "mer"),
    ("window", "fenêtre"),
    ("door", "porte"),
    ("chair", "chaise"),
    ("bird", "oiseau"),
    ("flower", "fleur"),
    ("night", "nuit"),
    ("horse", "cheval"),
    ("king", "roi"),
    ("garden", "jardin"),
    ("bed", "lit"),
    ("egg", "œuf"),
    ("butter", "beurre"),
    ("wine", "vin"),
    ("mountain", "montagne"),
    ("hospital", "hôpital"),
)

PAST_TENSE: tuple[tuple[str, str], ...] = (
    ("go", "went"),
    ("eat", "ate"),
    ("see", "saw"),
    ("walk", "walked"),
    ("play", "played"),
    ("run", "ran"),
    ("write", "wrote"),
    ("take", "took"),
    ("give", "gave"),
    ("buy", "bought"),
    ("think", "thought"),
    ("bring", "brought"),
    ("swim", "swam"),
    ("sing", "sang"),
    ("drink", "drank"),
    ("begin", "began"),
    ("fly", "flew"),
    ("drive", "drove"),
    ("speak", "spoke"),
    ("break", "broke"),
    ("choose", "chose"),
    ("forget", "forgot"),
    ("catch", "caught"),
    ("teach", "taught"),
    ("sleep", "slept"),
    ("keep", "kept"),
    ("stop", "stopped"),
    ("cry", "cried"),
    ("try", "tried"),
    ("jump", "jumped"),
    ("dance", "danced"),
    ("cook", "cooked"),
)

CAPITALS: tuple[tuple[str, str], ...] = (
    ("France", "Paris"),
    ("Germany", "Berlin"),
    ("Italy", "Rome"),
    ("Spain", "Madrid"),
    ("Portugal", "Lisbon"),
    ("Japan", "Tokyo"),
    ("China", "Beijing"),
    ("Russia", "Moscow"),
    ("Egypt", "Cairo"),
    ("Canada", "Ottawa"),
    ("Australia", "Canberra"),
    ("Argentina", "Buenos Aires"),
    ("Kenya", "Nairobi"),
    ("Greece", "Athens"),
    ("Norway", "Oslo"),
    ("Sweden", "Stockholm"),
    ("Finland", "Helsinki"),
    ("Poland", "Warsaw"),
    ("Austria", "Vienna"),
    ("Ireland", "Dublin"),
    ("Belgium", "Brussels"),
    ("Turkey", "Ankara"),
    ("India", "New Delhi"),
    ("Thailand", "Bangkok"),
    ("Vietnam", "Hanoi"),
    ("South Korea", "Seoul"),
    ("Peru", "Lima"),
    ("Chile", "Santiago"),
    ("Cuba", "Havana"),
    ("Hungary", "Budapest"),
    ("Denmark", "Copenhagen"),
    ("Iran", "Tehran"),
    ("Morocco", "Rabat"),
    ("Nigeria", "Abuja"),
    ("Czech Republic", "Prague"),
)

ADDITION_PAIRS: tuple[tuple[int, int], ...] = (
    (23, 45),
    (37, 48),
    (56, 29),
    (14, 72),
    (68, 57),
    (91, 34),
    (45, 45),
    (19, 83),
    (62, 31),
    (77, 66),
    (38, 14),
    (50, 49),
    (26, 97),
    (83, 18),
    (44, 53),
    (65, 27),
    (12, 39),
    (99, 11),
    (71, 24),
    (58, 36),
    (33, 67),
    (87, 95),
    (40, 35),
    (16, 28),
    (74, 82),
    (29, 64),
    (52, 17),
    (95, 46),
    (61, 78),
    (47, 21),
)


def addition_reasoning(a: int, b: int) -> str:
    """Digit-by-digit reasoning for a + b (two-digit numbers), ending with the tens sum."""
    if not (10 <= a <= 99 and 10 <= b <= 99):
        raise ValueError(f"two-digit numbers expected, got {a} and {b}")
    ones = a % 10 + b % 10
    carry = ones // 10
    tens = a // 10 + b // 10 + carry
    if carry:
        ones_text = f"Ones: {a % 10} + {b % 10} = {ones}, write {ones % 10} and carry 1."
        tens_text = f"Tens: {a // 10} + {b // 10} + 1 = {tens}."
    else:
        ones_text = f"Ones: {a % 10} + {b % 10} = {ones}."
        tens_text = f"Tens: {a // 10} + {b // 10} = {tens}."
    return f"{ones_text} {tens_text}"
