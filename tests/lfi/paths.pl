t(0.5)::edge(a, b). t(0.5)::edge(b, c). t(0.5)::edge(a, c). t(0.5)::edge(c, d).
path(X, Y) :- edge(X, Y).
path(X, Z) :- edge(X, Y), path(Y, Z).
