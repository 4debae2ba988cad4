0.5::x.
0.4::y.
0.7::z.
a :- x.
b :- x.
b :- y.
c :- a, \+ b.
d :- \+ a, b.
e :- b, \+ c.
f :- z, \+ d.
query(a).
query(b).
query(c).
query(d).
query(e).
query(f).
