0.5::weather(0, sun); 0.5::weather(0, rain).
0.7::weather(T1, sun); 0.3::weather(T1, rain) :- weather(T, sun), next(T, T1).
0.4::weather(T1, sun); 0.6::weather(T1, rain) :- weather(T, rain), next(T, T1).
next(0, 1). next(1, 2). next(2, 3).
0.9::umbrella(T) :- weather(T, rain).
0.2::umbrella(T) :- weather(T, sun).
query(umbrella(_)).
query(weather(_,_)).
