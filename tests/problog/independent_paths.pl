0.9::edge(a, b).
0.8::edge(b, d).
0.7::edge(a, c).
0.6::edge(c, d).
path(X, Y) :- edge(X, Y).
path(X, Z) :- edge(X, Y), path(Y, Z).
query(path(_,_)).
