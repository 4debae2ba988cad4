person(a). person(b). person(c). person(d).
friend(a, b). friend(b, c). friend(c, d). friend(d, a).
t(0.3)::stress(P) :- person(P).
t(0.4)::influences(X, Y) :- friend(X, Y).
smokes(X) :- stress(X).
smokes(X) :- influences(Y, X), smokes(Y).
t(0.5)::asthma_risk.
asthma(X) :- smokes(X), asthma_risk.
healthy(X) :- person(X), \+ smokes(X).
