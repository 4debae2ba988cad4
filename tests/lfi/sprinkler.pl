t(0.5)::rain.
t(0.5)::sprinkler.
t(0.5)::wet_from_rain :- rain.
t(0.5)::wet_from_sprinkler :- sprinkler.
wet :- wet_from_rain.
wet :- wet_from_sprinkler.
t(0.2)::slippery :- wet.
