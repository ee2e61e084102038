"""Sentivis shared package: the wire protocol, stream names, Redis helpers and settings.

Every service imports these from here and from nowhere else.
"""
