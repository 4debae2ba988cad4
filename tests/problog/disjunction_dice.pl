dice(1). dice(2).
0.1::roll(D, 1); 0.2::roll(D, 2); 0.3::roll(D, 3); 0.4::roll(D, 4) :- dice(D).
odd(D) :- roll(D, 1).
odd(D) :- roll(D, 3).
double :- roll(1, V), roll(2, V).
total(S) :- roll(1, A), roll(2, B), S is A + B.
high(D) :- roll(D, V), V > 2.
query(double).
query(high(_)).
query(odd(_)).
query(roll(_,_)).
query(total(_)).
