0.3::rain.
0.6::sprinkler.
wet :- rain.
wet :- sprinkler.
dry :- \+ wet.
0.8::open(shop).
0.4::open(bank).
place(shop). place(bank). place(park).
closed(P) :- place(P), \+ open(P).
query(closed(_)).
query(dry).
query(wet).
