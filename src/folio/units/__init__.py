"""Business units: the parts of an organization that own cases, and the members limited to some of them."""
