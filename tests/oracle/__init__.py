"""Oracles: real implementations that vmail's behaviour is compared against.

``tests.oracle.postfix`` runs a private, throw-away Postfix instance and asks it
what it does with recipient addresses (see that module's docstring).
"""
