"""Feedback to caseworkers and follow-up on findings (closing the supervision loop).

Sits above ``reviews`` in the stack: it reads reviews, rounds, plans and the catalogue; nothing
below imports it. What lower packages need from here (the follow-up allowance for a draw, the
"open follow-up actions" risk attribute, hints on the review form) is handed down as plain data
by the top of the stack (see :mod:`tilsyn.feedback.loop`).
"""
