0.5::edge(a, b).
0.9::edge(b, c).
0.8::edge(b, d).
0.7::edge(c, e).
0.6::edge(d, e).
0.4::edge(a, e).
path(X, Y) :- edge(X, Y).
path(X, Z) :- edge(X, Y), path(Y, Z).
query(path(_,_)).
