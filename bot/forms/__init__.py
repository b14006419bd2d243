"""Modal forms: a declarative field list builds the modal, reads and validates what was
typed, and tells which fields the user changed; `submission` runs the PMP write once."""
