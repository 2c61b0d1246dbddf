"""Membership system (relational DB): unions, members, membership events, honors."""
