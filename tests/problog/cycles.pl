0.5::edge(1, 2).
0.6::edge(2, 1).
0.7::edge(2, 3).
0.8::edge(3, 1).
0.9::edge(3, 4).
0.3::edge(1, 4).
reach(X, Y) :- edge(X, Y).
reach(X, Z) :- reach(X, Y), edge(Y, Z).
query(reach(_,_)).
