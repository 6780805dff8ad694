"""The rate tables of `summary` (a module of its own, light enough for the CLI to read
the table names from at start-up)."""

# The rate tables, in the order shown: (key, title, first column's heading, view). Each
# view (batch/store.py, m007) has its label column(s) first, then items, upheld,
# overturned, decided, undecided and the rate.
RATES = [
    ("category", "Overturn rate by treatment category", "category", "overturn_by_category"),
    ("drug-class", "Overturn rate by drug class", "drug class", "overturn_by_drug_class"),
    ("ingredient", "Overturn rate by drug (ingredient)", "ingredient", "overturn_by_ingredient"),
    ("guideline", "Overturn rate by guideline (source and part)", "guideline",
     "overturn_by_guideline"),
    ("body-region", "Overturn rate by body region", "body region", "overturn_by_body_region"),
    ("specialty", "Overturn rate by reviewer specialty", "specialty", "decisions_by_specialty"),
    ("year", "Overturn rate by decision year", "year", "overturn_by_year"),
    ("request", "Modified requests apart", "request", "overturn_by_request"),
]
