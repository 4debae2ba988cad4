#!/usr/bin/env python3
"""Decisions from a plain script: the credit rules (a CART tree called by
the bank's policy), asked for applicants, with the proof of each decision
and why-not.

    pip install .            # at the repository root
    python3 examples/python/decisions.py
"""

import pathlib

import nesy

ROOT = pathlib.Path(__file__).resolve().parents[2]

engine = nesy.Engine(rules=[ROOT / "rules" / "credit.nesy"])
print("decision relations:", ", ".join(engine.info()["derived"]))

applicants = {
    "applicant": [
        {"id": "n1", "income": 90000, "debt": 1000, "years_employed": 10},
        {"id": "n2", "income": 30000, "debt": 12000, "years_employed": 1},
    ]
}
decision = engine.decide("decision", applicants, explain=True)
for result in decision["results"]:
    who, verdict = result["args"]
    rule = result["explanation"]["rule"]
    print(f"{who}: {verdict} (rule {rule['name'] or rule['location']})")
print(f"evaluated in {decision['metrics']['eval_us']} us")

# Why is n1 not referred?
why_not = engine.explain("refer(n1)", applicants)["explanations"][0]
print("refer(n1) holds:", why_not["holds"])

# Bad input is an exception with the reason, never a crash.
try:
    engine.decide("decision", {"applicant": [["n3", "lots"]]})
except nesy.InputError as e:
    print("refused:", e)
