# -*- coding: latin-1 -*-
# holter: this module is traced because of the comment above it.
GREETING = "café crème"


def shout(s):
    return s.upper() + " à la carte"   # MARK:shout
