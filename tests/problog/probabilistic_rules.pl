person(ann). person(bob). person(cid). person(dee).
0.6::sick(ann).
0.3::sick(dee).
contact(ann, bob). contact(bob, cid). contact(dee, cid). contact(ann, cid).
0.7::infects(X, Y) :- contact(X, Y), sick(X).
sick_too(Y) :- infects(_, Y).
0.5::alarm :- sick(X), person(X).
query(alarm).
query(infects(_,_)).
query(sick_too(_)).
