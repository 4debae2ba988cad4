0.5::a. 0.5::a.
b :- a.
edge(x, y). 0.5::edge(x, y).
linked :- edge(x, y).
0.5::p. 0.5::q.
c :- p. c :- d. d :- c. d :- q.
0.3::rain. 0.5::sprinkler.
0.8::wet :- rain.
0.6::wet :- sprinkler.
dry :- \+ wet.
0.9::happy :- dry, c.
query(b).
query(c).
query(d).
query(dry).
query(happy).
query(linked).
query(wet).
