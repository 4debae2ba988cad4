t(0.3)::weather(sun); t(0.3)::weather(rain); t(0.3)::weather(snow).
t(0.5)::umbrella_if_rain.
t(0.5)::coat_if_snow.
t(0.5)::coat_if_rain.
t(0.5)::glasses_if_sun.
umbrella :- weather(rain), umbrella_if_rain.
coat :- weather(snow), coat_if_snow.
coat :- weather(rain), coat_if_rain.
sunglasses :- weather(sun), glasses_if_sun.
