t(0.5)::burglary.
t(0.5)::earthquake.
t(0.5)::p_alarm1.
t(0.5)::p_alarm2.
alarm :- burglary, p_alarm1.
alarm :- earthquake, p_alarm2.
