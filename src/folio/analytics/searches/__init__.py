"""Search analytics: what an organization's people search for, what finds nothing, what is slow."""
