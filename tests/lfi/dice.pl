die(d1). die(d2). die(d3). die(d4).
t(0.3)::face(D, 1); t(0.3)::face(D, 2); t(0.3)::face(D, 3) :- die(D).
two_ones :- face(d1, 1), face(d2, 1).
