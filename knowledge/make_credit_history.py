#!/usr/bin/env python3
"""Writes knowledge/credit_history.csv: 400 past loan applicants, synthetic,
seeded. A loan went `good` mostly when the debt was under 35% of income and
the applicant had worked two years or more, with 8% of outcomes flipped so
that the tree's leaves carry real probabilities.

    python3 knowledge/make_credit_history.py
"""

import os
import random

rng = random.Random(20261129)
rows = []
for _ in range(400):
    income = rng.randrange(12000, 120000, 500)
    debt = rng.randrange(0, int(income * 0.8), 250)
    years = rng.randrange(0, 20)
    good = debt < 0.35 * income and years >= 2
    if rng.random() < 0.08:
        good = not good
    rows.append((income, debt, years, "good" if good else "bad"))
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "credit_history.csv")
with open(path, "w") as f:
    f.write("income,debt,years_employed,outcome\n")
    for r in rows:
        f.write(",".join(map(str, r)) + "\n")
