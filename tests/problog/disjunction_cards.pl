0.25::suit(c1, hearts); 0.25::suit(c1, spades); 0.25::suit(c1, clubs); 0.25::suit(c1, diamonds).
0.3::suit(c2, hearts); 0.3::suit(c2, spades); 0.3::suit(c2, clubs).
card(c1). card(c2).
red(C) :- suit(C, hearts).
red(C) :- suit(C, diamonds).
black(C) :- suit(C, spades).
black(C) :- suit(C, clubs).
drawn(C) :- red(C).
drawn(C) :- black(C).
missing(C) :- card(C), \+ drawn(C).
same_colour :- red(c1), red(c2).
same_colour :- black(c1), black(c2).
0.5::lucky(C); 0.2::unlucky(C) :- red(C).
ordinary(C) :- card(C), \+ lucky(C), \+ unlucky(C).
query(black(_)).
query(drawn(_)).
query(lucky(_)).
query(missing(_)).
query(ordinary(_)).
query(red(_)).
query(same_colour).
query(suit(_,_)).
query(unlucky(_)).
