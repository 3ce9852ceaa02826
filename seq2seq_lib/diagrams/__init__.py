"""Figures of the ideas themselves, drawn with matplotlib: architectures, procedures, data flow.

`plots` draws measured data (lengths, curves, attention weights); the modules here draw the
pictures a textbook would, each where its notebook introduces the concept, from the library's
own objects wherever there is one to draw from (e.g. a real beam search).
"""
