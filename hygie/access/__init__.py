"""The access module: the one place that decides who sees which patient.

Every view and command fetches protected objects through the functions of
`hygie.access.records`; nothing else queries patient data directly (a test enforces it).
The role → capability matrix lives in `hygie.access.policy`. Default deny: a role has only
the capabilities listed for it, and a user reaches only the patients of their scope.
"""
