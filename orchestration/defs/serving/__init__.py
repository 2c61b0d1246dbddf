"""Serving area: publication of the marts for analysts and BI tools."""
